"""/forget: after a confirmation nothing about the user is left in any table; partners
are told, keep their shared sessions with "a former partner", and a failed notice is
sent again, never lost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from bot import forget_notices
from bot.callbacks import FORGET_YES
from bot.reminder_dispatch import ReminderDispatcher, dispatcher_job
from bot.render import history as render
from tests.bot.history_helpers import finished
from tests.bot.session_helpers import BEN, CAL, HOME, pair_in_database
from tests.conftest import make_settings
from tests.harness import BotHarness, Person, running_bot

# A name and an id that cannot turn up in a row by chance.
ZED = Person(918273645, "Zephyrine", "zephyrine_q")
MONDAY = date(2026, 11, 2)


def _rows(connection: Connection) -> Iterator[tuple[str, str, Any]]:
    """Every value of every column of every table, as (table, column, value)."""
    inspector = inspect(connection)
    for table in inspector.get_table_names():
        result = connection.execute(text(f'SELECT * FROM "{table}"'))
        for row in result.mappings():
            for column, value in row.items():
                yield table, column, value


def _mentions(value: Any, person: Person) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value == person.id
    if isinstance(value, dict | list):
        value = json.dumps(value)
    if isinstance(value, bytes | memoryview):
        value = bytes(value).decode("utf-8", "replace")
    if not isinstance(value, str):
        return False
    words = (str(person.id), person.first_name, person.username or person.first_name)
    return any(word.lower() in value.lower() for word in words)


async def traces_of(bot: BotHarness, person: Person) -> list[tuple[str, str]]:
    async with bot.app.bot_data.db.engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: [(t, c) for t, c, v in _rows(sync) if _mentions(v, person)]
        )


async def a_full_life(bot: BotHarness) -> None:
    """Zed has two partners, sessions with ratings, a reminder sent, invites, a group
    request, a time zone and a session waiting in its lobby."""
    ben_pair = await pair_in_database(bot, ZED, BEN)
    cal_pair = await pair_in_database(bot, ZED, CAL, home=None)
    for day in (MONDAY - timedelta(days=2), MONDAY - timedelta(days=1)):
        await finished(bot, ben_pair, day, {ZED.id: 2, BEN.id: 4})
    await finished(bot, cal_pair, MONDAY - timedelta(days=1), {ZED.id: 5, CAL.id: 1})
    await bot.say(ZED, "/timezone Europe/Lisbon")
    await bot.say(ZED, "/invite")
    await bot.say(ZED, "/remind 09:05", chat=HOME)
    bot.clock.set(datetime.fromisoformat("2026-11-02T09:06:00+00:00"))
    job = dispatcher_job(bot.app)
    assert isinstance(job.data, ReminderDispatcher)
    report = await job.data.tick(bot.app.bot, bot.app.bot_data)
    assert report.sent == 1
    other = Person(515151, "Dora")
    await bot.say(other, "hello", chat=HOME)
    await bot.say(ZED, "/pair", chat=HOME, reply_to=bot.world.messages[HOME.id][-1].raw)
    await bot.say(ZED, "/stretch", chat=HOME)
    traces = await traces_of(bot, ZED)
    # The tables that name a person without a foreign key must hold Zed too, or the
    # scan after /forget would prove nothing about them.
    for table in ("owed_cards", "reminder_recipients", "session_ratings", "users"):
        assert (table, "user_id" if table != "users" else "id") in traces, table


async def confirm_forget(bot: BotHarness, person: Person = ZED) -> None:
    await bot.say(person, "/forget")
    question = bot.last(person.id)
    assert "Forget you?" in question.text
    await bot.press(person, question, "Forget me")


async def test_forget_leaves_no_trace_in_any_table(database_url: str) -> None:
    async with running_bot(make_settings(database_url)) as bot:
        await a_full_life(bot)
        await confirm_forget(bot)
        assert await traces_of(bot, ZED) == []
        assert bot.last(ZED.id).text == render.forgotten()


async def test_partners_are_told_and_keep_the_shared_sessions(bot: BotHarness) -> None:
    await a_full_life(bot)
    await confirm_forget(bot)

    for partner in (BEN, CAL):
        assert bot.last(partner.id).text == render.told_partner_forgotten()
    await bot.say(BEN, "/history")
    text = bot.last(BEN.id).text
    assert "Your sessions with a former partner" in text
    assert text.count("Back-feel: Ben 4/5") == 2
    assert "Zephyrine" not in text and "2/5" not in text
    async with bot.app.bot_data.db.unit() as unit:
        assert await unit.pairs.of_user(BEN.id) == []


async def test_keep_my_data_deletes_nothing(bot: BotHarness) -> None:
    await pair_in_database(bot, ZED, BEN)
    await bot.say(ZED, "/forget")
    question = bot.last(ZED.id)
    assert "Ben" in question.text
    await bot.press(ZED, question, "Keep my data")
    assert bot.last(ZED.id).text == render.forget_kept()
    async with bot.app.bot_data.db.unit() as unit:
        assert await unit.users.get(ZED.id) is not None
        assert len(await unit.pairs.of_user(ZED.id)) == 1


async def test_forget_in_a_group_asks_nothing_and_says_where_to_send_it(bot: BotHarness) -> None:
    await pair_in_database(bot, ZED, BEN)
    bot.new(HOME.id)

    await bot.say(ZED, "/forget", chat=HOME)

    assert [m.text for m in bot.new(HOME.id)] == [
        "I send this only in our private chat: open it and send the command there."
    ]
    assert bot.new(ZED.id) == []


async def test_a_forged_forget_button_is_refused(bot: BotHarness) -> None:
    await pair_in_database(bot, ZED, BEN)
    await bot.say(BEN, "/forget")
    question = bot.last(BEN.id)
    # Ben's client sends a button that names Zed.
    answer = await bot.press_data(BEN, question, f"{FORGET_YES}:{ZED.id}")
    assert answer == render.NOT_YOURS
    async with bot.app.bot_data.db.unit() as unit:
        assert await unit.users.get(ZED.id) is not None
        assert await unit.users.get(BEN.id) is not None


async def test_a_failed_partner_notice_is_sent_again_later(bot: BotHarness) -> None:
    await pair_in_database(bot, ZED, BEN)
    bot.world.fail("sendMessage", "server_error", chat_id=BEN.id)
    await confirm_forget(bot)
    assert await traces_of(bot, ZED) == []
    assert render.told_partner_forgotten() not in bot.texts(BEN.id)

    bot.world.fail("sendMessage", "timeout", chat_id=BEN.id)
    await forget_notices.notices_job(bot.app).run(bot.app)
    assert render.told_partner_forgotten() not in bot.texts(BEN.id)

    await forget_notices.notices_job(bot.app).run(bot.app)
    await forget_notices.notices_job(bot.app).run(bot.app)
    assert bot.texts(BEN.id).count(render.told_partner_forgotten()) == 1


async def test_a_partner_who_blocked_the_bot_is_not_retried(bot: BotHarness) -> None:
    await pair_in_database(bot, ZED, BEN)
    bot.world.blocked.add(BEN.id)
    await confirm_forget(bot)
    # Nothing is owed any more: the refused notice is not tried again.
    assert await forget_notices.tell_former_partners(bot.app.bot, bot.app.bot_data) == 0
    notices = [
        call
        for call in bot.world.calls_of("sendMessage")
        if call.params["chat_id"] == BEN.id
        and call.params["text"] == render.told_partner_forgotten()
    ]
    assert len(notices) == 1
    async with bot.app.bot_data.db.unit() as unit:
        ben = await unit.users.get(BEN.id)
    assert ben is not None and not ben.reachable


async def test_the_erasure_holds_when_the_confirmation_edit_fails(bot: BotHarness) -> None:
    await a_full_life(bot)
    bot.world.fail("editMessageText", "timeout", chat_id=ZED.id)
    await confirm_forget(bot)
    assert await traces_of(bot, ZED) == []
    assert bot.last(BEN.id).text == render.told_partner_forgotten()
    # Tapping again, as a user would after no answer, finds nothing left to delete.
    question = [m for m in bot.inbox(ZED.id) if "Forget you?" in m.text][-1]
    await bot.press(ZED, question, "Forget me")
    assert await traces_of(bot, ZED) == []
    assert bot.texts(BEN.id).count(render.told_partner_forgotten()) == 1
