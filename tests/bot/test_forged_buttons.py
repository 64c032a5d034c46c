"""Forged, malformed and stale buttons get the polite refusal and change nothing.

Callback data comes from the client, so anyone can send any string up to 64 bytes.
Each registered prefix is tried with too few and too many parts, non-numbers, negative
and huge numbers (past PostgreSQL's INTEGER and BIGINT), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from telegram.ext import CallbackQueryHandler

from bot.render.basics import BUTTON_GONE
from storage.models import Base
from tests.bot.session_helpers import ANA, BEN, pair_in_database
from tests.clock import FakeClock
from tests.conftest import make_settings
from tests.fake_telegram import SentMessage
from tests.harness import BotHarness, running_bot

ROW = "id"  # a row id in an INTEGER column; anything else is a valid sample value
USER = "user"  # a Telegram user id in a BIGINT column (not the presser's)
SESSION = ("sj", "sn", "sr", "sp", "su", "sk", "ss", "sa", "sg", "se", "sy")  # session, version
ONE_ROW = (
    "inv_yes", "inv_no", "pair_yes", "pair_no", "unpair_pick", "unpair_yes", "unpair_no",
    "rs", "rz", "rk", "rl", "rre", "sv",
)  # fmt: skip
# Every button prefix the bot registers, with what each of its places holds.
BUTTONS: dict[str, tuple[str, ...]] = {
    **{action: (ROW, "0") for action in SESSION},
    **{action: (ROW,) for action in ONE_ROW},
    "sf": (ROW, "3"),  # session, rating 1-5
    "sw": (ROW, "0"),  # pair, routine position
    "tz_pick": (ROW, "0"),  # pair, zone key
    "tz_ok": (USER, "0"),  # the asker, zone key
    "rx": (ROW, ROW),  # pair, slot
    "rp": (ROW, "450", "127"),  # pair, minutes after midnight, weekday mask
    "rpa": (ROW, "7"),  # pair, days
    "hp": ("0", ROW, "0"),  # history page: subject (pair / former partnership), its id, page
    "hs": (ROW,),  # /streak: pair picked
    "hc": (ROW,),  # /progress: pair picked
    "fg_yes": (USER,),  # /forget confirmed, by this user
    "fg_no": (USER,),  # /forget declined, by this user
    "rv": ("0",),  # /routines: preview, routine position
    "rg": ("0",),  # /routines: Start, routine position
    "set_pick": (ROW,),  # /settings: pair picked
    "set": (ROW, "1", "0"),  # /settings: pair, setting, choice position
    "recap_off": (ROW,),  # the weekly recap's "Turn off weekly recap": pair
}
BAD_NUMBERS = (
    "x",
    "",
    "-1",
    "2147483648",  # one past PostgreSQL's INTEGER
    "9223372036854775808",  # one past BIGINT
    "1" + "0" * 30,
    "01",
    "+1",
    "1.0",
    " 1",
    "1\n",
    "١",  # an Arabic-Indic one, which Python's int() would take
)
FROM_THE_ISSUE = ("sr:2147483648:1", "rp:1:99999:999", "rpa:1:99999")
INT4_MAX = str(2**31 - 1)
INT8_MAX = str(2**63 - 1)
# What a place is filled with when the test wants rows that are not there.
MISSING = {ROW: INT4_MAX, USER: INT8_MAX}


def bad_numbers(place: str) -> tuple[str, ...]:
    """BAD_NUMBERS but those a BIGINT user id may hold (Telegram's ids pass 2**31)."""
    if place == USER:
        return tuple(bad for bad in BAD_NUMBERS if bad != "2147483648")
    return BAD_NUMBERS


def forgeries(action: str, places: tuple[str, ...]) -> list[str]:
    valid = ["1" if place in (ROW, USER) else place for place in places]
    forged = [action, f"{action}:", ":".join([action, *valid, "1"])]
    if len(valid) > 1:
        forged.append(":".join([action, *valid[:-1]]))
    for index in range(len(valid)):
        for bad in bad_numbers(places[index]):
            parts = list(valid)
            parts[index] = bad
            forged.append(":".join([action, *parts]))
    return forged


@pytest.fixture
async def bot_on_each_database(database_url: str, clock: FakeClock) -> AsyncIterator[BotHarness]:
    async with running_bot(make_settings(database_url), clock) as harness:
        yield harness


async def with_rows_behind_every_button(bot: BotHarness) -> SentMessage:
    """Pair 1, its reminder slot 1, invite 1 and session 1 exist; Ana's newest message."""
    await pair_in_database(bot)
    await bot.say(ANA, "/remind 07:30")
    await bot.say(ANA, "/invite")
    await bot.say(ANA, "/stretch quick")
    bot.new(BEN.id)
    return bot.new(ANA.id)[-1]


async def database_rows(bot: BotHarness) -> dict[str, list[tuple[Any, ...]]]:
    async with bot.app.bot_data.db.engine.connect() as connection:
        return {
            table.name: sorted(
                (tuple(row) for row in (await connection.execute(select(table))).all()), key=repr
            )
            for table in Base.metadata.sorted_tables
        }


def messages_sent(bot: BotHarness) -> int:
    return sum(1 for call in bot.world.calls if call.method != "answerCallbackQuery")


def trouble(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.WARNING
    ]


@pytest.mark.parametrize("action", sorted(BUTTONS))
async def test_forged_data_for_each_button_gets_the_polite_refusal_and_changes_nothing(
    bot_on_each_database: BotHarness, caplog: pytest.LogCaptureFixture, action: str
) -> None:
    bot = bot_on_each_database
    message = await with_rows_behind_every_button(bot)
    before, sent = await database_rows(bot), messages_sent(bot)
    forged = forgeries(action, BUTTONS[action])
    forged += [data for data in FROM_THE_ISSUE if data.split(":")[0] == action]

    answers = {data: await bot.press_data(ANA, message, data) for data in forged}

    assert {data: answer for data, answer in answers.items() if answer != BUTTON_GONE} == {}
    assert await database_rows(bot) == before
    assert messages_sent(bot) == sent
    assert trouble(caplog) == []


# The buttons that name a row (a routine's position names none: every one in range exists).
NAMING_ROWS = sorted(a for a, places in BUTTONS.items() if ROW in places or USER in places)


@pytest.mark.parametrize("action", NAMING_ROWS)
async def test_a_button_for_rows_that_are_not_there_is_answered_politely(
    bot_on_each_database: BotHarness, caplog: pytest.LogCaptureFixture, action: str
) -> None:
    bot = bot_on_each_database
    message = await with_rows_behind_every_button(bot)
    before, sent = await database_rows(bot), messages_sent(bot)
    # The largest id its column holds: in range, but no such row (or someone else).
    stale = ":".join([action, *(MISSING.get(p, p) for p in BUTTONS[action])])

    answer = await bot.press_data(ANA, message, stale)

    assert answer
    assert await database_rows(bot) == before
    assert messages_sent(bot) == sent
    assert trouble(caplog) == []


async def test_every_button_prefix_the_bot_registers_is_tried_above(bot: BotHarness) -> None:
    handlers = [
        handler
        for group in bot.app.handlers.values()
        for handler in group
        if isinstance(handler, CallbackQueryHandler) and handler.pattern is not None
    ]
    patterns = [h.pattern for h in handlers if isinstance(h.pattern, re.Pattern)]
    untried = [p.pattern for p in patterns if not any(p.match(f"{a}:1") for a in BUTTONS)]
    assert len(patterns) == len(handlers) > 0
    assert untried == []
