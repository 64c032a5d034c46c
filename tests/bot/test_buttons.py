"""Button plumbing: one home for every action code, and the answers and edits of a tap.

Every action code is a constant of `bot.callbacks`; each is routed to exactly one
handler. The answer to a tap is plain text, so a name shows as typed there; an edit that
changes nothing ("message is not modified") is no error, and any other refusal of an edit
goes to the error handler.
"""

from __future__ import annotations

import logging
import re

import pytest
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler

from bot import callbacks
from bot.render.basics import SORRY
from tests.bot.session_helpers import card_of, pair_in_database, stop_for_both, through_get_set
from tests.fake_telegram import SentMessage
from tests.harness import BotHarness, Person

ANA = Person(101, "Ana")
SAM = Person(505, "Sam O'Neil & Co <3")


def _action_codes() -> dict[str, str]:
    """Every upper-case string constant of bot.callbacks that is shaped like an action."""
    return {
        name: value
        for name, value in vars(callbacks).items()
        if name.isupper() and isinstance(value, str) and re.fullmatch(r"[a-z][a-z0-9_]*", value)
    }


def _logged(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("bot") and r.levelno >= level]


def test_no_two_buttons_share_an_action_code() -> None:
    codes = _action_codes()
    assert len(codes) >= 20
    assert sorted(set(codes.values())) == sorted(codes.values())


async def test_every_registered_button_pattern_is_one_action_code_of_callbacks(
    bot: BotHarness,
) -> None:
    patterns = [
        handler.pattern.pattern
        for group in bot.app.handlers.values()
        for handler in group
        if isinstance(handler, CallbackQueryHandler) and isinstance(handler.pattern, re.Pattern)
    ]
    expected = sorted(callbacks.pattern(code) for code in _action_codes().values())
    # One handler per code, none for a code that is not in bot.callbacks.
    assert sorted(patterns) == expected


# -- answers to a tap are plain text ----------------------------------------------------


async def test_the_ease_off_toast_names_the_helper_as_typed(bot: BotHarness) -> None:
    await pair_in_database(bot, ANA, SAM)
    await bot.say(ANA, "/stretch")
    [invite] = bot.new(SAM.id)
    await bot.press(SAM, invite, "Join")
    for person in (ANA, SAM):
        await bot.press(person, bot.new(person.id)[-1], "Ready")
    await through_get_set(bot)
    # The hold is each setup card, edited: the one card on each phone.
    ana_hold, sam_hold = card_of(bot, ANA), card_of(bot, SAM)
    assert all(label != "Ease off" for label, _ in sam_hold.buttons)

    # Ana is stretched first, so Sam helps; the toast is plain text, not HTML.
    assert await bot.press(ANA, ana_hold, "Ease off") == "Sent: Sam O'Neil & Co <3 will ease off."
    [alert] = bot.new(SAM.id)
    assert "Sam" not in alert.text and alert.text.startswith("⚠️ <b>Ease off now.</b>")


# -- edits under a tap ------------------------------------------------------------------


async def _unpair_question(bot: BotHarness) -> SentMessage:
    await pair_in_database(bot, ANA, SAM, home=None)
    await bot.say(ANA, "/unpair")
    [confirm] = bot.new(ANA.id)
    return confirm


async def test_an_edit_telegram_finds_unchanged_is_no_error(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    confirm = await _unpair_question(bot)
    before = confirm.text
    caplog.set_level(logging.INFO)
    # The same "Keep it" arriving twice edits to what is already there.
    bot.world.fail("editMessageText", "not_modified", chat_id=ANA.id)

    assert await bot.press(ANA, confirm, "Keep it") is None

    assert confirm.text == before and confirm.edits == 0
    assert _logged(caplog, logging.WARNING) == []
    assert bot.new(ANA.id) == []


async def test_any_other_refused_edit_goes_to_the_error_handler(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    confirm = await _unpair_question(bot)
    caplog.set_level(logging.INFO)
    bot.world.fail("editMessageText", "chat_not_found", chat_id=ANA.id)

    await bot.press(ANA, confirm, "Keep it")

    [record] = _logged(caplog, logging.WARNING)
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and isinstance(record.exc_info[1], BadRequest)
    assert [m.text for m in bot.new(ANA.id)] == [SORRY]


async def test_a_rating_tapped_twice_is_noted_without_an_apology(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await pair_in_database(bot, ANA, SAM)
    await bot.say(ANA, "/stretch quick")
    await bot.press(SAM, bot.new(SAM.id)[-1], "Join")
    for person in (ANA, SAM):
        await bot.press(person, bot.new(person.id)[-1], "Ready")
    await through_get_set(bot)
    await bot.advance(60)  # one hold done, so the summary asks for a rating
    bot.new(SAM.id)
    await stop_for_both(bot, ANA, bot.new(ANA.id)[-1])
    summary = bot.new(ANA.id)[-1]
    four = summary.button("4")
    assert await bot.press(ANA, summary, "4") == "Thanks, noted: 4 of 5."
    caplog.set_level(logging.INFO)
    # The same tap again: its buttons are gone already, so Telegram finds nothing to change.
    bot.world.fail("editMessageReplyMarkup", "not_modified", chat_id=ANA.id)

    assert await bot.press_data(ANA, summary, four) == "Thanks, noted: 4 of 5."

    assert _logged(caplog, logging.WARNING) == []
    assert bot.new(ANA.id) == []
