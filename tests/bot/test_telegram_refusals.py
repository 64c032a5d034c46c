"""A 400 from Telegram is our bug, not a network hiccup, and replies stay within limits.

PTB makes BadRequest a subclass of NetworkError; these tests feed real updates to the
real Application while the fake Bot API refuses (400), times out, or measures what we
send against Telegram's limits (`tests/fake_telegram/limits.py`).
"""

from __future__ import annotations

import logging

import pytest
from telegram.error import BadRequest

from bot.render.basics import SORRY
from bot.render.limits import ECHO
from tests.bot.session_helpers import ANA, BEN, pair_in_database
from tests.fake_telegram.limits import MESSAGE_TEXT, utf16_length, visible_text
from tests.harness import BotHarness, Group, Person

# Telegram itself lets a first name be at most 64 characters long.
AMPERSANDS = Person(404, "&" * 64)
CAM = Person(303, "Cam")
TEAM = Group(-100500, "Back office")


def logged(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("bot") and r.levelno >= level]


# -- how a refusal is logged --------------------------------------------------------------


async def test_a_refused_reply_is_logged_as_our_error_and_the_user_gets_the_apology(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.say(ANA, "/start")
    bot.new(ANA.id)
    caplog.set_level(logging.INFO)
    bot.world.fail("sendMessage", "chat_not_found", chat_id=ANA.id)  # a 400

    await bot.say(ANA, "/help")

    [record] = logged(caplog, logging.WARNING)
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and isinstance(record.exc_info[1], BadRequest)
    assert "network" not in record.getMessage()
    assert [m.text for m in bot.new(ANA.id)] == [SORRY]


async def test_a_timeout_stays_a_warning_about_the_network(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.say(ANA, "/start")
    bot.new(ANA.id)
    caplog.set_level(logging.INFO)
    bot.world.fail("sendMessage", "timeout", chat_id=ANA.id)

    await bot.say(ANA, "/help")

    [record] = logged(caplog, logging.WARNING)
    assert record.levelno == logging.WARNING
    assert "network trouble" in record.getMessage()
    assert bot.new(ANA.id) == []


# -- what a user typed comes back cut -----------------------------------------------------


async def test_a_4000_character_timezone_gets_an_answer_quoting_it_cut(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.say(ANA, "/start")
    bot.new(ANA.id)

    await bot.say(ANA, "/timezone " + "x" * 4000)

    [reply] = bot.new(ANA.id)
    shown = visible_text(reply.text, "HTML")
    assert shown.startswith(f"I don't know “{'x' * (ECHO - 1)}…”.")
    assert utf16_length(shown) <= MESSAGE_TEXT
    assert logged(caplog, logging.WARNING) == []


@pytest.mark.parametrize(
    "command",
    [
        "/timezone " + "x" * 4000,
        "/timezone " + "&<>" * 1300,  # escaping makes it five times longer
        "/timezone " + "🤸" * 2000,  # two UTF-16 units each
        "/timezone Europe/" + "B" * 4000,
        "/remind " + "7" * 4000,
        "/remind 07:30 " + "funday," * 500,
        "/remind 07:30 mon " + "y" * 4000,
        "/pause " + "9" * 4000,
        "/pause " + "x" * 4000,
        "/stretch " + "q" * 4000,
        "/start " + "t" * 4000,
        "/reminders " + "r" * 4000,
        "/resume " + "r" * 4000,
        "/partners " + "p" * 4000,
        "/invite " + "i" * 4000,
        "/unpair " + "u" * 4000,
        "/help " + "h" * 4000,
        "/nosuchcommand " + "n" * 4000,
    ],
    ids=lambda command: command[:24],
)
async def test_every_command_answers_a_huge_argument_within_telegrams_limit(
    bot: BotHarness, caplog: pytest.LogCaptureFixture, command: str
) -> None:
    await pair_in_database(bot)

    await bot.say(ANA, command)

    [reply] = bot.new(ANA.id)
    assert utf16_length(visible_text(reply.text, "HTML")) <= MESSAGE_TEXT
    assert logged(caplog, logging.WARNING) == []
    assert bot.new(BEN.id) == []


async def test_a_bystanders_alert_names_a_64_character_partner_within_200(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    for person in (ANA, AMPERSANDS, CAM):
        await bot.say(person, "/start")
    said = await bot.say(AMPERSANDS, "Shall we stretch?", chat=TEAM)
    await bot.say(ANA, "/pair", chat=TEAM, reply_to=said)
    request = bot.last(TEAM.id)

    alert = await bot.press(CAM, request, "Accept")

    assert alert == f"Only {'&' * 64} can answer this."
    assert logged(caplog, logging.WARNING) == []
