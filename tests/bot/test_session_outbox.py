"""A step's cards reach both phones even when Telegram fails to take them, or the bot stops."""

from __future__ import annotations

import re

import pytest

from bot.config import Settings
from bot.services import sessions
from routines.engine import TimerElapsed
from tests.bot.session_helpers import (
    ANA,
    BEN,
    get_set_seconds,
    pair_in_database,
    stop_for_both,
    through_get_set,
)
from tests.clock import FakeClock
from tests.conftest import make_settings
from tests.fake_telegram import SentMessage, World
from tests.harness import BotHarness, Person, running_bot

# What Telegram does to a call that does not go through: HTTP 500, no answer within
# the read timeout, or the connection closing without an answer.
FAILURES = ["server_error", "timeout", "dropped"]


def sends_to(bot: BotHarness, person: Person, since: int = 0) -> int:
    """How many sendMessage calls to `person` the bot made after call number `since`."""
    calls = bot.world.calls[since:]
    return sum(1 for c in calls if c.method == "sendMessage" and c.params["chat_id"] == person.id)


def steps_shown(bot: BotHarness, person: Person) -> list[int]:
    """The step number of every step card the bot sent to `person`, in order."""
    numbers = (re.match(r"Step (\d+) of", m.text) for m in bot.inbox(person.id))
    return [int(found.group(1)) for found in numbers if found]


async def _joined(bot: BotHarness) -> tuple[SentMessage, SentMessage]:
    """Ana asked from private, Ben joined: both setup cards of step 1."""
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch")
    await bot.press(BEN, bot.new(BEN.id)[-1], "Join")
    return bot.new(ANA.id)[-1], bot.new(BEN.id)[-1]


@pytest.mark.parametrize("failure", FAILURES)
async def test_a_join_card_that_fails_once_is_sent_again_and_the_session_goes_on(
    bot: BotHarness, failure: str
) -> None:
    await pair_in_database(bot)
    bot.world.fail("sendMessage", failure, chat_id=BEN.id)

    await bot.say(ANA, "/stretch")
    assert bot.new(BEN.id) == []
    bot.new(ANA.id)

    await bot.advance(1)
    [join] = bot.new(BEN.id)
    assert join.text.startswith("Ana wants to stretch now.")
    await bot.press(BEN, join, "Join")
    for person in (ANA, BEN):
        [setup] = bot.new(person.id)
        assert "Step 1 of" in setup.text
    await bot.advance(60)
    assert [m.text for m in bot.inbox(BEN.id)].count(join.text) == 1


@pytest.mark.parametrize("failure", FAILURES)
async def test_a_setup_card_that_fails_once_is_sent_again_and_both_get_to_the_hold(
    bot: BotHarness, failure: str
) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch")
    bot.world.fail("sendMessage", failure, chat_id=ANA.id)

    await bot.press(BEN, bot.new(BEN.id)[-1], "Join")
    assert [m.text for m in bot.new(ANA.id)] == [
        "Asked Ben to join. I'll start once they tap Join."
    ]
    [ben_setup] = bot.new(BEN.id)

    await bot.advance(1)
    [ana_setup] = bot.new(ANA.id)
    assert "Step 1 of" in ana_setup.text
    for person, card in ((ANA, ana_setup), (BEN, ben_setup)):
        await bot.press(person, card, "Ready")
    for person in (ANA, BEN):
        [hold] = bot.new(person.id)
        assert "Step 2 of" in hold.text
        assert steps_shown(bot, person) == [1, 2]


@pytest.mark.parametrize("failure", FAILURES)
async def test_a_hold_card_that_fails_once_arrives_on_retry_and_its_countdown_follows(
    bot: BotHarness, failure: str
) -> None:
    ana_setup, ben_setup = await _joined(bot)
    await bot.press(ANA, ana_setup, "Ready")
    bot.world.fail("sendMessage", failure, chat_id=BEN.id)

    await bot.press(BEN, ben_setup, "Ready")
    [ana_hold] = bot.new(ANA.id)
    assert bot.new(BEN.id) == []

    await bot.advance(1)
    [ben_hold] = bot.new(BEN.id)
    assert "Get set: the hold starts in 3 s" in ben_hold.text
    await bot.advance(get_set_seconds(bot) + 59)
    # The late card was noted as shown, so the countdown edited it like Ana's.
    assert ben_hold.edits == ana_hold.edits == 2
    for person in (ANA, BEN):
        assert steps_shown(bot, person) == [1, 2, 3]


async def test_a_card_that_keeps_failing_is_tried_with_growing_pauses_until_it_goes_through(
    bot: BotHarness,
) -> None:
    ana_setup, ben_setup = await _joined(bot)
    await bot.press(ANA, ana_setup, "Ready")
    bot.world.fail("sendMessage", "server_error", chat_id=BEN.id, times=3)
    before = len(bot.world.calls)

    await bot.press(BEN, ben_setup, "Ready")
    for waited in (1, 2):  # tries at 1 s and 3 s fail
        await bot.advance(waited)
        assert bot.new(BEN.id) == []
    await bot.advance(3.9)
    assert bot.new(BEN.id) == []
    await bot.advance(0.1)  # the fourth try, 4 s after the third
    [hold] = bot.new(BEN.id)
    # 7 s after the second Ready: the hold started after its 4 s get-set, 3 s ago.
    assert "Hold: 57 s left" in hold.text
    assert sends_to(bot, BEN, before) == 4


async def test_a_card_owed_for_a_step_that_is_over_is_never_sent(bot: BotHarness) -> None:
    ana_setup, ben_setup = await _joined(bot)
    await bot.press(ANA, ana_setup, "Ready")
    bot.world.fail("sendMessage", "server_error", chat_id=BEN.id)
    await bot.press(BEN, ben_setup, "Ready")
    [ana_hold] = bot.new(ANA.id)

    # Before Ben's hold card is tried again, Ana skips the hold: step 3 for both.
    await bot.press(ANA, ana_hold, "Skip")
    await bot.advance(10)

    for person in (ANA, BEN):
        [setup] = bot.new(person.id)
        assert "Step 3 of" in setup.text
    assert steps_shown(bot, BEN) == [1, 3]
    assert not any("Hold:" in m.text for m in bot.inbox(BEN.id))


async def test_a_refused_partner_is_not_tried_again_and_the_session_pauses_as_before(
    bot: BotHarness,
) -> None:
    ana_setup, ben_setup = await _joined(bot)
    await bot.press(ANA, ana_setup, "Ready")
    bot.world.blocked.add(BEN.id)
    before = len(bot.world.calls)

    await bot.press(BEN, ben_setup, "Ready")
    await bot.advance(120)

    assert bot.new(ANA.id)[-1].text.startswith("Paused: I can't reach Ben any more")
    assert sends_to(bot, BEN, before) == 1  # the one refused hold card


@pytest.mark.parametrize("failure", FAILURES)
async def test_a_summary_that_fails_once_arrives_on_retry(bot: BotHarness, failure: str) -> None:
    ana_setup, ben_setup = await _joined(bot)
    # One hold done first, so the summary carries the rating buttons.
    await bot.press(ANA, ana_setup, "Ready")
    await bot.press(BEN, ben_setup, "Ready")
    await through_get_set(bot)
    await bot.advance(60)
    bot.new(BEN.id)
    ana_setup = bot.new(ANA.id)[-1]
    bot.world.fail("sendMessage", failure, chat_id=BEN.id)

    await stop_for_both(bot, ANA, ana_setup)
    [ana_summary] = bot.new(ANA.id)
    assert bot.new(BEN.id) == []

    await bot.advance(1)
    [ben_summary] = bot.new(BEN.id)
    assert ben_summary.text == ana_summary.text
    assert [label for label, _ in ben_summary.buttons] == ["1", "2", "3", "4", "5"]


async def test_a_step_saved_before_its_cards_went_out_is_shown_on_both_phones_after_a_restart(
    settings: Settings, clock: FakeClock
) -> None:
    world = World(clock=lambda: clock.now().timestamp())
    async with running_bot(settings, clock, world) as bot:
        ana_setup, ben_setup = await _joined(bot)
        for person, card in ((ANA, ana_setup), (BEN, ben_setup)):
            await bot.press(person, card, "Ready")
        holds = {p: bot.new(p.id)[-1] for p in (ANA, BEN)}
        live = await sessions.load(bot.app.bot_data, 1)
        assert live is not None
        clock.advance(get_set_seconds(bot) + 60)
        # The hold ran out: the next step is saved, and the process stops before it
        # sends that step's cards (SIGKILL, or a power cut, at the worst moment).
        await sessions.apply(bot.app.bot_data, 1, TimerElapsed(version=live.state.version))

    async with running_bot(settings, clock, world) as bot:
        setups = {p: bot.new(p.id)[-1] for p in (ANA, BEN)}
        for person in (ANA, BEN):
            assert steps_shown(bot, person) == [1, 2, 3]
            assert "Tap Ready" in setups[person].text
            assert "</b>\nHold: 60 s" in holds[person].text
        # The new cards' buttons work: both are ready, and the next hold starts.
        for person, card in setups.items():
            await bot.press(person, card, "Ready")
        for person in (ANA, BEN):
            assert steps_shown(bot, person) == [1, 2, 3, 4]
        await through_get_set(bot)
        await bot.advance(60)
        for person in (ANA, BEN):
            assert steps_shown(bot, person) == [1, 2, 3, 4, 5]


async def test_a_restart_sends_nothing_again_that_was_already_shown(
    settings: Settings, clock: FakeClock
) -> None:
    world = World(clock=lambda: clock.now().timestamp())
    async with running_bot(settings, clock, world) as bot:
        ana_setup, ben_setup = await _joined(bot)
        await bot.press(ANA, ana_setup, "Ready")
        bot.world.fail("sendMessage", "timeout", chat_id=BEN.id)
        await bot.press(BEN, ben_setup, "Ready")
        # Ben's hold card is still owed when the process stops.
    clock.advance(5)

    async with running_bot(settings, clock, world) as bot:
        for person in (ANA, BEN):
            assert steps_shown(bot, person) == [1, 2]
        [ben_hold] = [m for m in bot.inbox(BEN.id) if "Hold:" in m.text]
        # 5 s after the second Ready: 4 s to get set, then 1 s of the hold.
        assert "Hold: 59 s left" in ben_hold.text


async def test_a_card_that_fails_again_at_start_up_is_retried_by_the_new_process(
    settings: Settings, clock: FakeClock
) -> None:
    world = World(clock=lambda: clock.now().timestamp())
    async with running_bot(settings, clock, world) as bot:
        ana_setup, ben_setup = await _joined(bot)
        await bot.press(ANA, ana_setup, "Ready")
        bot.world.fail("sendMessage", "dropped", chat_id=BEN.id)
        await bot.press(BEN, ben_setup, "Ready")
    world.fail("sendMessage", "server_error", chat_id=BEN.id)

    async with running_bot(settings, clock, world) as bot:
        assert steps_shown(bot, BEN) == [1]
        await bot.advance(1)
        assert steps_shown(bot, BEN) == [1, 2]
        assert steps_shown(bot, ANA) == [1, 2]


async def test_a_hold_card_that_fails_once_arrives_on_retry_on_each_database(
    database_url: str, clock: FakeClock
) -> None:
    async with running_bot(make_settings(database_url), clock) as bot:
        ana_setup, ben_setup = await _joined(bot)
        await bot.press(ANA, ana_setup, "Ready")
        bot.world.fail("sendMessage", "server_error", chat_id=BEN.id)
        await bot.press(BEN, ben_setup, "Ready")
        assert steps_shown(bot, BEN) == [1]

        await bot.advance(1)

        assert steps_shown(bot, BEN) == [1, 2]
        async with bot.app.bot_data.db.unit() as unit:
            assert await unit.outbox.owed(1) == []
