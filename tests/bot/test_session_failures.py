"""A session keeps going when a side call to Telegram fails, or a partner is busy elsewhere."""

from __future__ import annotations

import pytest

from bot.config import Settings
from tests.bot.session_helpers import (
    ANA,
    BEN,
    CAL,
    HOME,
    SECOND_TURN,
    at_first_setup,
    card_of,
    into_first_hold,
    pair_in_database,
    through_get_set,
)
from tests.clock import FakeClock
from tests.fake_telegram import World
from tests.harness import BotHarness, Person, running_bot


async def test_a_ready_whose_answer_times_out_still_starts_the_hold_on_both_phones(
    bot: BotHarness,
) -> None:
    ana_setup, ben_setup = await at_first_setup(bot)
    await bot.press(ANA, ana_setup, "Ready")
    # The answer to the tap (the toast) never gets through; the step was already saved.
    bot.world.fail("answerCallbackQuery", "timeout")

    await bot.press(BEN, ben_setup, "Ready")

    await through_get_set(bot)
    for person in (ANA, BEN):
        assert bot.new(person.id) == []
        assert "<b>Hold: 60 s left</b>" in card_of(bot, person).text
    await bot.advance(60)
    for person in (ANA, BEN):
        assert SECOND_TURN in bot.new(person.id)[-1].text


async def test_a_group_line_that_times_out_still_sends_both_join_cards(bot: BotHarness) -> None:
    await pair_in_database(bot)
    bot.world.fail("sendMessage", "timeout", chat_id=HOME.id)

    await bot.say(ANA, "/stretch", chat=HOME)

    for person in (ANA, BEN):
        [card] = bot.new(person.id)
        assert [label for label, _ in card.buttons] == ["Join"]


async def test_stretch_with_a_partner_busy_in_another_session_says_so_and_stops_nothing(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot, ANA, BEN, home=None)
    await pair_in_database(bot, CAL, BEN, home=None)
    await bot.say(CAL, "/stretch")
    bot.new(CAL.id)
    bot.new(BEN.id)

    await bot.say(ANA, "/stretch")

    [busy] = bot.new(ANA.id)
    assert busy.text == "Ben is in another session right now. Try again once it's over."
    assert busy.buttons == []
    assert bot.new(BEN.id) == [] and bot.new(CAL.id) == []


async def test_a_restart_recovers_every_session_even_when_telegram_fails_for_one(
    settings: Settings, clock: FakeClock
) -> None:
    dee = Person(404, "Dee")
    world = World(clock=lambda: clock.now().timestamp())
    async with running_bot(settings, clock, world) as bot:
        await pair_in_database(bot, ANA, BEN, home=None)
        await pair_in_database(bot, CAL, dee, home=None)
        for starter, partner in ((ANA, BEN), (CAL, dee)):
            await bot.say(starter, "/stretch")
            await bot.press(partner, bot.new(partner.id)[-1], "Join")
            for person in (starter, partner):
                await bot.press(person, bot.new(person.id)[-1], "Ready")
        cal_hold, dee_hold = card_of(bot, CAL), card_of(bot, dee)
    clock.advance(120)
    world.fail("editMessageText", "timeout", chat_id=ANA.id)

    async with running_bot(settings, clock, world) as bot:
        for card in (cal_hold, dee_hold):
            assert "Paused: I was offline for a moment." in card.text


@pytest.mark.parametrize("failure", ["server_error", "timeout", "dropped"])
async def test_a_pause_whose_edit_fails_on_one_phone_still_reaches_both_with_resume(
    bot: BotHarness, failure: str
) -> None:
    ana_hold, ben_hold = await into_first_hold(bot)
    bot.new(ANA.id)
    await through_get_set(bot)
    await bot.advance(17)
    bot.world.fail("editMessageText", failure, chat_id=ANA.id)
    edits = ana_hold.edits

    await bot.press(BEN, ben_hold, "Pause")

    # Ana's hold card could not be turned into the paused card: she gets it anew, as
    # quietly as the edit, and it is her one card (the hold card went).
    assert ana_hold.edits == edits
    [ana_paused] = bot.new(ANA.id)
    assert ana_paused.disable_notification
    assert card_of(bot, ANA) is ana_paused and ana_hold.deleted
    for card in (ana_paused, ben_hold):
        assert "Paused by Ben. 43 s of this hold left." in card.text
        assert [label for label, _ in card.buttons] == ["Resume", "Stop"]
    await bot.press(ANA, ana_paused, "Resume")
    for person in (ANA, BEN):
        assert "Hold: 43 s left" in bot.new(person.id)[-1].text


@pytest.mark.parametrize("failure", ["server_error", "timeout", "dropped"])
async def test_a_countdown_edit_that_fails_on_one_phone_is_caught_up_and_the_hold_ends_on_time(
    bot: BotHarness, failure: str
) -> None:
    await into_first_hold(bot)
    await through_get_set(bot)
    ana_hold = card_of(bot, ANA)
    edits = ana_hold.edits
    bot.world.fail("editMessageText", failure, chat_id=ANA.id)

    await bot.advance(59)

    # The 60 s hold is edited at 30 s (its cue); Ana's edit was lost and made up a
    # second later, and nothing else touched her card.
    assert ana_hold.edits == edits + 1
    assert "Hold: 29 s left" in ana_hold.text
    await bot.advance(1)
    for person in (ANA, BEN):
        assert SECOND_TURN in card_of(bot, person).text
