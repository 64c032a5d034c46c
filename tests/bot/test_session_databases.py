"""The session rules that lean on the database hold on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.services import sessions, timer_claims
from tests.bot.session_helpers import (
    ANA,
    BEN,
    HOME,
    at_first_setup,
    card_of,
    pair_in_database,
    through_get_set,
)
from tests.clock import FakeClock
from tests.conftest import make_settings
from tests.harness import BotHarness, running_bot


@pytest.fixture
async def bot_on_each_database(database_url: str, clock: FakeClock) -> AsyncIterator[BotHarness]:
    async with running_bot(make_settings(database_url), clock) as harness:
        yield harness


async def test_two_readies_racing_start_one_hold_and_one_only(
    bot_on_each_database: BotHarness,
) -> None:
    bot = bot_on_each_database
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch", chat=HOME)
    lobbies = {p: bot.new(p.id)[-1] for p in (ANA, BEN)}
    await asyncio.gather(*(bot.press(p, card, "Join") for p, card in lobbies.items()))
    setups = {p: bot.new(p.id) for p in (ANA, BEN)}
    assert all(len(cards) == 1 for cards in setups.values())

    await asyncio.gather(*(bot.press(p, cards[0], "Ready") for p, cards in setups.items()))

    # One hold armed, once: its end, a row in the timers table (a hold of a minute gets
    # no countdown tick, only its cue's: Child's Pose has one), and its cards at its start.
    timers = await timer_claims.of_session(bot.app.bot_data, 1)
    assert [(t.lane, t.kind, t.version) for t in timers] == [
        ("cards", "cards", 3),
        ("step", "hold", 3),
        ("tick", "tick", 3),
    ]
    await through_get_set(bot)
    for person in (ANA, BEN):
        # One hold: each setup card became it once, and no other card came.
        assert bot.new(person.id) == []
        assert "<b>Hold: 60 s left</b>" in card_of(bot, person).text


async def test_a_doubled_stop_ends_the_session_once(bot_on_each_database: BotHarness) -> None:
    bot = bot_on_each_database
    ana_setup, ben_setup = await at_first_setup(bot)

    for person, card in ((ANA, ana_setup), (BEN, ben_setup)):
        assert await bot.press(person, card, "Stop") == "Stop for both of you?"
    answers = await asyncio.gather(
        bot.press(ANA, ana_setup, "Stop for both"), bot.press(BEN, ben_setup, "Stop for both")
    )

    assert sorted(a or "" for a in answers) == [
        "Stopped for both of you.",
        "This session has ended.",
    ]
    for person in (ANA, BEN):
        [summary] = bot.new(person.id)
        assert summary.text.startswith("Stopped before the first hold.")


async def test_two_starts_at_once_for_the_same_people_open_one_lobby(
    bot_on_each_database: BotHarness,
) -> None:
    bot = bot_on_each_database
    pair = await pair_in_database(bot)
    data = bot.app.bot_data

    async def start(starter: int) -> str:
        try:
            await sessions.start(
                data, pair=pair, starter_id=starter, routine_id="quick", origin_chat_id=starter
            )
        except sessions.AlreadyInSession:
            return "busy"
        return "started"

    outcomes = await asyncio.gather(start(ANA.id), start(BEN.id))

    assert sorted(outcomes) == ["busy", "started"]
    async with data.db.unit() as unit:
        assert await unit.sessions.count_live() == 1
