"""Pause, resume, skip, stop and ease off, from either phone, for both."""

from __future__ import annotations

import asyncio

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
    get_set_seconds,
    on_screen,
    pair_in_database,
    stop_for_both,
    through_get_set,
)
from tests.fake_telegram import SentMessage
from tests.harness import BotHarness, Group


async def _holding(bot: BotHarness, seconds: int = 60) -> tuple[SentMessage, SentMessage]:
    """Start a private session and get both partners into the first hold."""
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch")
    [invite] = bot.new(BEN.id)
    assert invite.text.startswith("Ana wants to stretch now.")
    await bot.press(BEN, invite, "Join")
    setups = {p: bot.new(p.id)[-1] for p in (ANA, BEN)}
    for person, card in setups.items():
        await bot.press(person, card, "Ready")
    # The setup cards say when the hold starts, and turn into it then: the one card on
    # each phone.
    assert bot.new(ANA.id) == [] and bot.new(BEN.id) == []
    ana_hold, ben_hold = card_of(bot, ANA), card_of(bot, BEN)
    assert f"the hold starts {get_set_seconds(bot):.0f} s after Ben's Ready" in ana_hold.text
    await through_get_set(bot)
    assert f"<b>Hold: {seconds} s left</b>" in ana_hold.text
    assert bot.new(ANA.id) == [] and bot.new(BEN.id) == []
    return ana_hold, ben_hold


async def test_a_pause_by_either_partner_keeps_the_remaining_hold_time_for_both(
    bot: BotHarness,
) -> None:
    ana_hold, ben_hold = await _holding(bot)
    await bot.advance(17)

    assert await bot.press(BEN, ben_hold, "Pause") == "Paused for both of you."

    for card in (ana_hold, ben_hold):
        assert "Paused by Ben. 43 s of this hold left." in card.text
        assert [label for label, _ in card.buttons] == ["Resume", "Stop"]
    # Time passing while paused changes nothing.
    await bot.advance(300)
    assert bot.new(ANA.id) == [] and bot.new(BEN.id) == []

    await bot.press(ANA, ana_hold, "Resume")
    [ana_again] = bot.new(ANA.id)
    [ben_again] = bot.new(BEN.id)
    assert "Hold: 43 s left" in ana_again.text and "Hold: 43 s left" in ben_again.text

    await bot.advance(42)
    assert bot.new(ANA.id) == []
    await bot.advance(1)
    [next_ana] = bot.new(ANA.id)
    assert SECOND_TURN in next_ana.text


async def test_skip_from_one_phone_moves_both_to_the_next_step_once(bot: BotHarness) -> None:
    ana_hold, _ben_hold = await _holding(bot)
    skip_data = ana_hold.button("Skip")

    assert await bot.press(ANA, ana_hold, "Skip") == "Skipped for both of you."
    # The same tap arriving twice (a double tap, or Telegram redelivering) skips once.
    doubled = await bot.press_data(ANA, ana_hold, skip_data)

    assert doubled == "That button is out of date; use the newest message."
    for person in (ANA, BEN):
        [card] = bot.new(person.id)
        assert SECOND_TURN in card.text


async def test_stop_ends_the_session_for_both_and_remembers_how_far_they_got(
    bot: BotHarness,
) -> None:
    _ana_hold, _ben_hold = await _holding(bot)
    await bot.advance(60)
    [ana_setup] = bot.new(ANA.id)
    bot.new(BEN.id)

    ready = ana_setup.button("Ready")
    assert await stop_for_both(bot, BEN, ana_setup) == "Stopped for both of you."

    for person in (ANA, BEN):
        [summary] = bot.new(person.id)
        assert summary.text.startswith("Session stopped.")
        assert "Stretches: 1 · holds: 1 · 1 min" in summary.text
    # Buttons of a finished session answer and change nothing.
    assert await bot.press_data(ANA, ana_setup, ready) == "This session has ended."
    async with bot.app.bot_data.db.unit() as unit:
        result = await unit.results.of_session(1)
    assert result is not None
    assert (result.end_reason, result.holds_done, result.exercises_done) == ("stopped", 1, 1)


async def test_ease_off_alerts_the_helper_at_once_and_the_clock_keeps_running(
    bot: BotHarness,
) -> None:
    ana_hold, ben_hold = await _holding(bot)
    await bot.advance(10)

    # Ana receives first; Ben is the helper and has no Ease off button to press.
    assert all(label != "Ease off" for label, _ in ben_hold.buttons)
    assert await bot.press(ANA, ana_hold, "Ease off") == "Sent: Ben will ease off."

    [alert] = bot.new(BEN.id)
    assert alert.text == "⚠️ <b>Ease off now.</b> Ana needs less pressure."
    assert not alert.disable_notification
    assert bot.new(ANA.id) == []
    await bot.advance(50)
    assert SECOND_TURN in bot.new(ANA.id)[-1].text


async def test_a_helper_forging_ease_off_is_refused(bot: BotHarness) -> None:
    ana_hold, ben_hold = await _holding(bot)

    answer = await bot.press_data(BEN, ben_hold, ana_hold.button("Ease off"))

    assert answer == "Only the partner being stretched can ask to ease off."
    assert bot.new(ANA.id) == [] and bot.new(BEN.id) == []


async def test_a_bystanders_tap_changes_nothing(bot: BotHarness) -> None:
    ana_hold, _ = await _holding(bot)
    await bot.say(CAL, "/start")
    bot.new(CAL.id)

    answer = await bot.press_data(CAL, ana_hold, ana_hold.button("Stop"))

    assert answer == "These buttons belong to the two partners of this session."
    assert bot.new(ANA.id) == [] and bot.new(BEN.id) == [] and bot.new(CAL.id) == []


async def test_both_pressing_ready_at_the_same_instant_start_one_hold(bot: BotHarness) -> None:
    ana_setup, ben_setup = await at_first_setup(bot)

    answers = await asyncio.gather(
        bot.press(ANA, ana_setup, "Ready"), bot.press(BEN, ben_setup, "Ready")
    )
    assert "Get set: the hold starts in 4 s." in answers
    await through_get_set(bot)

    # One hold: each setup card turned into it, and no other card came.
    assert bot.new(ANA.id) == [] and bot.new(BEN.id) == []
    for person in (ANA, BEN):
        assert "<b>Hold: 60 s left</b>" in card_of(bot, person).text


async def test_a_forged_or_garbled_button_is_answered_politely(bot: BotHarness) -> None:
    ana_hold, _ = await _holding(bot)

    assert await bot.press_data(ANA, ana_hold, "sp:999:1") == "This session no longer exists."
    assert await bot.press_data(ANA, ana_hold, "sp:1") == "This button no longer works."
    assert await bot.press_data(ANA, ana_hold, "zz:1:2") == "This button no longer works."
    assert bot.new(ANA.id) == [] and bot.new(BEN.id) == []


async def test_not_now_from_a_private_invitation_calls_it_off_kindly(bot: BotHarness) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch")
    [asked] = bot.new(ANA.id)
    assert asked.text == "Asked Ben to join. I'll start once they tap Join."

    await bot.press(BEN, bot.new(BEN.id)[-1], "Not now")

    for person in (ANA, BEN):
        [note] = bot.new(person.id)
        assert note.text.startswith("This session was called off before it began.")


async def _at_setup(bot: BotHarness) -> SentMessage:
    """Ana starts from private, Ben joins: Ana's setup card, her one card."""
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch")
    await bot.press(BEN, bot.new(BEN.id)[-1], "Join")
    bot.new(BEN.id)
    setup = card_of(bot, ANA)
    bot.new(ANA.id)
    return setup


async def test_stretch_in_private_during_ones_session_brings_the_card_back_below(
    bot: BotHarness,
) -> None:
    setup = await _at_setup(bot)

    await bot.say(ANA, "/stretch")

    # The card comes back at the bottom of the chat, quietly; the old one goes.
    [again] = bot.new(ANA.id)
    assert setup.deleted
    assert card_of(bot, ANA) is again
    assert (again.text, again.buttons) == (setup.text, setup.buttons)
    assert again.disable_notification
    assert bot.new(BEN.id) == []
    # It is the live card: Ready works on it.
    await bot.press(ANA, again, "Ready")
    assert "You're ready." in again.text


async def test_stretch_in_the_group_during_ones_session_says_where_the_card_is(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch")
    bot.new(ANA.id)
    await bot.say(BEN, "/stretch", chat=HOME)

    [line] = bot.new(HOME.id)
    assert line.text == "You're already in a session. Your card is in our private chat."
    assert line.buttons == []
    assert bot.new(ANA.id) == []
    # Ben's Join card is still his one live card, and it works.
    await bot.press(BEN, card_of(bot, BEN), "Join")
    assert "Tap Ready" in card_of(bot, BEN).text


@pytest.mark.parametrize("fault", ["server_error", "timeout", "dropped", "forbidden"])
async def test_stretch_during_ones_session_when_the_card_does_not_come_keeps_the_old_one(
    bot: BotHarness, fault: str
) -> None:
    setup = await _at_setup(bot)
    bot.world.fail("sendMessage", fault, chat_id=ANA.id)

    await bot.say(ANA, "/stretch")

    [line] = bot.new(ANA.id)
    assert line.text == "You're already in a session. Its card is just above: carry on there."
    assert line.buttons == []
    assert not setup.deleted
    assert card_of(bot, ANA) is setup
    await bot.press(ANA, setup, "Ready")
    assert "You're ready." in setup.text


async def test_stretch_during_ones_session_waits_out_a_429_and_brings_the_card_back(
    bot: BotHarness,
) -> None:
    setup = await _at_setup(bot)
    bot.world.fail("sendMessage", "retry_after", chat_id=ANA.id)

    await bot.say(ANA, "/stretch")

    [again] = bot.new(ANA.id)
    assert setup.deleted
    assert card_of(bot, ANA) is again
    assert (again.text, again.buttons) == (setup.text, setup.buttons)


async def test_stretch_without_a_partner_or_with_an_unknown_routine_explains(
    bot: BotHarness,
) -> None:
    await bot.say(CAL, "/stretch")
    await bot.say(CAL, "/stretch yoga")

    assert bot.texts(CAL.id) == [
        "You need a partner first: send /invite and share the link, "
        "or reply to your partner's message in a group with /pair.",
        "I don't know that routine. Try /stretch lower-back or /stretch quick.",
    ]


async def test_a_429_from_telegram_is_retried_after_the_time_it_asks_for(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch")
    await bot.press(BEN, bot.new(BEN.id)[-1], "Join")
    await bot.press(ANA, bot.new(ANA.id)[-1], "Ready")
    bot.world.fail("editMessageText", "retry_after", chat_id=ANA.id, retry_after=1)

    await bot.press(BEN, bot.new(BEN.id)[-1], "Ready")
    await through_get_set(bot)

    hold_edits = [
        c
        for c in bot.world.calls_of("editMessageText")
        if c.params["chat_id"] == ANA.id and "<b>Hold: 60 s left</b>" in c.params["text"]
    ]
    # Refused once with retry_after, edited again after the wait: one card on the phone.
    assert len(hold_edits) == 2
    assert "<b>Hold: 60 s left</b>" in card_of(bot, ANA).text
    assert len([m for m in on_screen(bot, ANA) if "Hold: 60 s left" in m.text]) == 1


async def test_the_time_scale_shortens_every_hold(bot: BotHarness, settings: Settings) -> None:
    bot.app.bot_data.settings = settings.model_copy(update={"session_time_scale": 0.5})
    ana_hold, _ = await _holding(bot, seconds=30)

    await bot.advance(29)
    assert bot.new(ANA.id) == []
    await bot.advance(1)
    assert SECOND_TURN in bot.new(ANA.id)[-1].text
    assert "Hold" in ana_hold.text


async def test_stretch_in_a_group_that_is_no_pairs_home_says_where_to_go(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot, home=None)
    office = Group(-100999, "Office")

    await bot.say(ANA, "/stretch", chat=office)

    assert bot.texts(office.id) == [
        "None of your partners calls this group home. Reply to your partner's message "
        "here with /pair, or send /stretch in our private chat."
    ]
    assert bot.new(BEN.id) == []


async def test_with_several_partners_stretch_asks_with_whom_and_only_the_asker_may_answer(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot, ANA, BEN, home=None)
    await pair_in_database(bot, ANA, CAL, home=None)

    await bot.say(ANA, "/stretch quick")
    [question] = bot.new(ANA.id)
    assert question.text == "Who do you want to stretch with?"
    assert [label for label, _ in question.buttons] == ["Ben", "Cal"]

    forged = await bot.press_data(BEN, question, question.button("Cal"))
    assert forged == "That button isn't yours or no longer works."
    await bot.press(ANA, question, "Cal")

    [invitation] = bot.new(CAL.id)
    assert invitation.text.startswith("Ana wants to stretch now.")
    assert bot.new(BEN.id) == []
