"""Work counts: a session that ends early after a hold shows what was done and asks for a
rating; one that ends before any hold says so in one line and leaves the group alone."""

from __future__ import annotations

import pytest

from tests.bot.session_helpers import (
    ANA,
    BEN,
    HOME,
    pair_in_database,
    stop_for_both,
    through_get_set,
)
from tests.fake_telegram import SentMessage
from tests.harness import BotHarness

SETUP_IDLE_SECONDS = 600


async def _setups_in_group(bot: BotHarness) -> tuple[SentMessage, SentMessage]:
    """A session started from the home group, both joined: each phone shows a setup card."""
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch", chat=HOME)
    bot.new(HOME.id)
    for person in (ANA, BEN):
        await bot.press(person, bot.new(person.id)[-1], "Join")
    return bot.new(ANA.id)[-1], bot.new(BEN.id)[-1]


async def _first_hold_done(bot: BotHarness) -> tuple[SentMessage, SentMessage]:
    """Both ready, Child's Pose held to its end (60 s): the next setup card on each phone."""
    ana_setup, ben_setup = await _setups_in_group(bot)
    await bot.press(ANA, ana_setup, "Ready")
    await bot.press(BEN, ben_setup, "Ready")
    bot.new(ANA.id)
    bot.new(BEN.id)
    await through_get_set(bot)
    await bot.advance(60)
    return bot.new(ANA.id)[-1], bot.new(BEN.id)[-1]


async def test_a_session_stopped_after_three_holds_counts_them(bot: BotHarness) -> None:
    ana_card, ben_card = await _first_hold_done(bot)
    # Child's Pose with the roles swapped (60 s), then Straddle Fold (30 s).
    for hold in (60, 30):
        await bot.press(ANA, ana_card, "Ready")
        await bot.press(BEN, ben_card, "Ready")
        await through_get_set(bot)
        await bot.advance(hold)
        ana_card, ben_card = bot.new(ANA.id)[-1], bot.new(BEN.id)[-1]

    await stop_for_both(bot, BEN, ben_card)

    for person in (ANA, BEN):
        [summary] = bot.new(person.id)
        assert summary.text.startswith("Session stopped.")
        assert "Stretches: 2 · holds: 3 · 3 min" in summary.text
        assert [label for label, _ in summary.buttons] == ["1", "2", "3", "4", "5"]
    [closing] = bot.new(HOME.id)
    assert closing.text == "Ana and Ben just stretched: 3 holds, 3 min."


async def test_one_hold_then_stop_has_a_singular_group_line(bot: BotHarness) -> None:
    ana_card, _ = await _first_hold_done(bot)

    await stop_for_both(bot, ANA, ana_card)

    [closing] = bot.new(HOME.id)
    assert closing.text == "Ana and Ben just stretched: 1 hold, 1 min."


async def test_a_session_left_idle_after_a_hold_shows_what_was_done_and_asks(
    bot: BotHarness,
) -> None:
    await _first_hold_done(bot)

    await bot.advance(SETUP_IDLE_SECONDS)

    for person in (ANA, BEN):
        [summary] = bot.new(person.id)
        assert summary.text.startswith("This session ended because it sat idle.")
        assert "Stretches: 1 · holds: 1 · 1 min" in summary.text
        assert "Your streak: 1 day" in summary.text
        assert [label for label, _ in summary.buttons] == ["1", "2", "3", "4", "5"]
    assert await bot.press(ANA, bot.last(ANA.id), "4") == "Thanks, noted: 4 of 5."
    [closing] = bot.new(HOME.id)
    assert closing.text == "Ana and Ben just stretched: 1 hold, 1 min."
    async with bot.app.bot_data.db.unit() as unit:
        result = await unit.results.of_session(1)
    assert result is not None
    assert (result.end_reason, result.holds_done) == ("abandoned", 1)


async def test_a_session_stopped_before_any_hold_ends_in_one_line(bot: BotHarness) -> None:
    ana_setup, _ = await _setups_in_group(bot)

    await stop_for_both(bot, ANA, ana_setup)

    for person in (ANA, BEN):
        [note] = bot.new(person.id)
        assert note.text == (
            "Stopped before the first hold. Start again with /stretch whenever you like."
        )
        assert note.buttons == []
    assert bot.new(HOME.id) == []


async def test_a_session_left_idle_before_any_hold_ends_in_one_line(bot: BotHarness) -> None:
    await _setups_in_group(bot)

    await bot.advance(SETUP_IDLE_SECONDS)

    for person in (ANA, BEN):
        [note] = bot.new(person.id)
        assert note.text.startswith("This session ended because it sat idle.")
        assert "holds" not in note.text
        assert note.buttons == []
    assert bot.new(HOME.id) == []


@pytest.mark.parametrize("failure", ["server_error", "timeout"])
async def test_an_idle_ending_whose_summary_fails_once_arrives_on_retry(
    bot: BotHarness, failure: str
) -> None:
    await _first_hold_done(bot)
    bot.world.fail("sendMessage", failure, chat_id=BEN.id)
    bot.world.fail("sendMessage", failure, chat_id=HOME.id)

    await bot.advance(SETUP_IDLE_SECONDS)
    [ana_summary] = bot.new(ANA.id)
    assert bot.new(BEN.id) == []

    await bot.advance(1)
    [ben_summary] = bot.new(BEN.id)
    assert ben_summary.text == ana_summary.text
    assert "Stretches: 1 · holds: 1" in ben_summary.text
    assert [label for label, _ in ben_summary.buttons] == ["1", "2", "3", "4", "5"]
