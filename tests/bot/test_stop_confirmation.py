"""Stop asks "Stop for both of you?" first; Skip on a setup card says what it skips."""

from __future__ import annotations

import pytest

from tests.bot.session_helpers import ANA, BEN, CAL, at_first_setup, card_of, through_get_set
from tests.fake_telegram import SentMessage
from tests.harness import BotHarness

FAILURES = ["server_error", "timeout", "dropped"]


async def _holding(bot: BotHarness) -> tuple[SentMessage, SentMessage]:
    ana_setup, ben_setup = await at_first_setup(bot)
    await bot.press(ANA, ana_setup, "Ready")
    await bot.press(BEN, ben_setup, "Ready")
    await through_get_set(bot)
    # The hold is each setup card, edited: the one card on each phone.
    return card_of(bot, ANA), card_of(bot, BEN)


def labels(card: SentMessage) -> list[str]:
    return [label for label, _ in card.buttons]


async def test_a_setup_cards_skip_names_the_stretch_it_skips(bot: BotHarness) -> None:
    ana_setup, ben_setup = await at_first_setup(bot)

    for card in (ana_setup, ben_setup):
        assert labels(card) == ["Ready", "Skip Child's Pose", "Stop"]
    assert await bot.press(ANA, ana_setup, "Skip Child") == "Skipped for both of you."
    # The skip took both sides of that turn; the next setup card names its own stretch.
    [ben_next] = bot.new(BEN.id)
    assert ben_next.text.startswith("Stretch 1 of 7 · You are stretched")
    assert labels(ben_next)[1] == "Skip Child's Pose"
    assert "You are stretched" in ben_next.text


async def test_stop_only_asks_and_the_session_keeps_running(bot: BotHarness) -> None:
    ana_hold, ben_hold = await _holding(bot)
    text_before = ana_hold.text

    assert await bot.press(ANA, ana_hold, "Stop") == "Stop for both of you?"

    assert labels(ana_hold) == ["Stop for both", "Keep going"]
    assert ana_hold.text == text_before  # only the buttons changed
    assert labels(ben_hold) == ["Pause", "Skip", "Stop"]  # the other phone is untouched
    assert bot.new(ANA.id) == [] and bot.new(BEN.id) == []
    # Nothing was stopped: the hold runs out and the next step comes to both phones.
    await bot.advance(60)
    for person in (ANA, BEN):
        # The next turn's setup, with the roles swapped.
        assert "stretched.</b>" in bot.new(person.id)[-1].text


async def test_keep_going_puts_back_the_buttons_of_the_card(bot: BotHarness) -> None:
    ana_hold, _ = await _holding(bot)
    before = ana_hold.buttons
    await bot.press(ANA, ana_hold, "Stop")

    assert await bot.press(ANA, ana_hold, "Keep going") == "Carrying on."

    assert ana_hold.buttons == before
    assert labels(ana_hold) == ["Ease off", "Pause", "Skip", "Stop"]
    assert bot.new(ANA.id) == [] and bot.new(BEN.id) == []


async def test_keep_going_on_a_paused_card_puts_back_resume(bot: BotHarness) -> None:
    ana_hold, ben_hold = await _holding(bot)
    await bot.press(BEN, ben_hold, "Pause")
    await bot.press(ANA, ana_hold, "Stop")

    await bot.press(ANA, ana_hold, "Keep going")

    assert labels(ana_hold) == ["Resume", "Stop"]
    await bot.press(ANA, ana_hold, "Resume")
    assert "Hold: 60 s left" in bot.new(ANA.id)[-1].text


async def test_the_confirmation_stops_the_session_for_both(bot: BotHarness) -> None:
    ana_setup, _ = await at_first_setup(bot)
    await bot.press(ANA, ana_setup, "Stop")

    assert await bot.press(ANA, ana_setup, "Stop for both") == "Stopped for both of you."

    for person in (ANA, BEN):
        [summary] = bot.new(person.id)
        assert summary.text.startswith("Stopped before the first hold.")


async def test_a_confirmation_left_from_an_earlier_step_is_refused(bot: BotHarness) -> None:
    ana_setup, ben_setup = await at_first_setup(bot)
    await bot.press(ANA, ana_setup, "Stop")
    stale_stop, stale_keep = ana_setup.button("Stop for both"), ana_setup.button("Keep going")
    # Ben skips meanwhile: the question on Ana's old card is about a step that is over.
    await bot.press(BEN, ben_setup, "Skip")
    bot.new(ANA.id)
    bot.new(BEN.id)

    for data in (stale_stop, stale_keep):
        answer = await bot.press_data(ANA, ana_setup, data)
        assert answer == "That button is out of date; use the newest message."
    assert bot.new(ANA.id) == [] and bot.new(BEN.id) == []
    async with bot.app.bot_data.db.unit() as unit:
        assert await unit.results.of_session(1) is None


async def test_a_bystander_can_neither_ask_nor_confirm(bot: BotHarness) -> None:
    ana_hold, _ = await _holding(bot)
    ask = ana_hold.button("Stop")
    await bot.press(ANA, ana_hold, "Stop")
    confirm = ana_hold.button("Stop for both")
    await bot.say(CAL, "/start")
    bot.new(CAL.id)

    for data in (ask, confirm):
        answer = await bot.press_data(CAL, ana_hold, data)
        assert answer == "These buttons belong to the two partners of this session."
    assert labels(ana_hold) == ["Stop for both", "Keep going"]
    assert bot.new(ANA.id) == [] and bot.new(BEN.id) == []


@pytest.mark.parametrize("failure", FAILURES)
async def test_a_question_whose_edit_fails_leaves_stop_there_to_ask_again(
    bot: BotHarness, failure: str
) -> None:
    ana_hold, _ = await _holding(bot)
    bot.world.fail("editMessageReplyMarkup", failure, chat_id=ANA.id)

    await bot.press(ANA, ana_hold, "Stop")

    assert labels(ana_hold) == ["Ease off", "Pause", "Skip", "Stop"]
    assert await bot.press(ANA, ana_hold, "Stop") == "Stop for both of you?"
    assert labels(ana_hold) == ["Stop for both", "Keep going"]


@pytest.mark.parametrize("failure", FAILURES)
async def test_a_question_whose_answer_fails_still_offers_the_choice(
    bot: BotHarness, failure: str
) -> None:
    ana_setup, _ = await at_first_setup(bot)
    bot.world.fail("answerCallbackQuery", failure)

    await bot.press(ANA, ana_setup, "Stop")

    assert labels(ana_setup) == ["Stop for both", "Keep going"]
    assert await bot.press(ANA, ana_setup, "Stop for both") == "Stopped for both of you."


@pytest.mark.parametrize("failure", FAILURES)
async def test_a_confirmation_whose_answer_fails_still_stops_both(
    bot: BotHarness, failure: str
) -> None:
    ana_setup, _ = await at_first_setup(bot)
    await bot.press(ANA, ana_setup, "Stop")
    bot.world.fail("answerCallbackQuery", failure)

    await bot.press(ANA, ana_setup, "Stop for both")

    for person in (ANA, BEN):
        [summary] = bot.new(person.id)
        assert summary.text.startswith("Stopped before the first hold.")


@pytest.mark.parametrize("failure", FAILURES)
async def test_keep_going_whose_edit_fails_can_be_tapped_again(
    bot: BotHarness, failure: str
) -> None:
    ana_hold, _ = await _holding(bot)
    await bot.press(ANA, ana_hold, "Stop")
    bot.world.fail("editMessageReplyMarkup", failure, chat_id=ANA.id)

    await bot.press(ANA, ana_hold, "Keep going")

    assert labels(ana_hold) == ["Stop for both", "Keep going"]
    assert await bot.press(ANA, ana_hold, "Keep going") == "Carrying on."
    assert labels(ana_hold) == ["Ease off", "Pause", "Skip", "Stop"]
