"""/history and /streak on the phones: pages, buttons, forged taps, the streak rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.reminder_dispatch import ReminderDispatcher, dispatcher_job
from bot.render import history as render
from bot.render.basics import BUTTON_GONE
from bot.services.history import Subject
from tests.bot.history_helpers import daily, finished
from tests.bot.session_helpers import ANA, BEN, CAL, pair_in_database
from tests.harness import BotHarness, Group, Person

MONDAY = date(2026, 11, 2)  # the test clock's first day


def page_lines(text: str) -> list[str]:
    """The dated first line of each session on a page."""
    return [line for line in text.splitlines()[1:] if line.startswith("<b>")]


async def test_history_shows_ten_sessions_a_page_newest_first(bot: BotHarness) -> None:
    pair = await pair_in_database(bot)
    for day in daily(MONDAY - timedelta(days=22), 23):
        await finished(bot, pair, day, {ANA.id: 3, BEN.id: 4})

    await bot.say(ANA, "/history")
    first = bot.last(ANA.id)
    assert "page 1 of 3" in first.text
    lines = page_lines(first.text)
    assert len(lines) == 10
    assert lines[0].startswith("<b>Mon 2 Nov 2026</b>")
    assert "Back-feel: Ana 3/5, Ben 4/5" in first.text
    assert [label for label, _ in first.buttons] == ["Older"]

    await bot.press(ANA, first, "Older")
    second = bot.last(ANA.id)
    assert second.message_id == first.message_id  # the same message, edited
    assert "page 2 of 3" in second.text
    assert page_lines(second.text)[0].startswith("<b>Fri 23 Oct 2026</b>")
    assert [label for label, _ in second.buttons] == ["Older", "Newer"]

    await bot.press(ANA, second, "Older")
    third = bot.last(ANA.id)
    assert len(page_lines(third.text)) == 3
    assert [label for label, _ in third.buttons] == ["Newer"]

    await bot.press(ANA, third, "Newer")
    assert "page 2 of 3" in bot.last(ANA.id).text


async def test_forged_and_stale_pages_are_refused_politely(bot: BotHarness) -> None:
    pair = await pair_in_database(bot)
    for day in daily(MONDAY - timedelta(days=11), 12):
        await finished(bot, pair, day)
    await bot.say(CAL, "/start")
    await bot.say(ANA, "/history")
    shown = bot.last(ANA.id)
    before = shown.text

    assert await bot.press_data(ANA, shown, f"hp:{Subject.PAIR}:{pair.id}:2") == (
        render.OUT_OF_DATE  # past the last page
    )
    for data in (
        f"hp:{Subject.PAIR}:{pair.id}:-1",
        f"hp:7:{pair.id}:0",  # no such kind of history
        "hp:0:1",  # too few parts
        "hp:zero:1:0",
    ):
        assert await bot.press_data(ANA, shown, data) == BUTTON_GONE, data
    assert await bot.press_data(CAL, shown, f"hp:{Subject.PAIR}:{pair.id}:0") == render.NOT_YOURS
    assert await bot.press_data(ANA, shown, f"hp:{Subject.PAIR}:{pair.id + 50}:0") == render.GONE
    assert bot.last(ANA.id).text == before


async def test_history_without_sessions_says_so(bot: BotHarness) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/history")
    assert "No sessions with Ben yet" in bot.last(ANA.id).text


async def test_history_escapes_names_and_shows_unrated_and_stopped_sessions(
    bot: BotHarness,
) -> None:
    tricky = Person(404, "<b>Bo</b>")
    pair = await pair_in_database(bot, ANA, tricky)
    await finished(bot, pair, MONDAY, {tricky.id: 5})
    await finished(bot, pair, MONDAY - timedelta(days=1), end_reason="stopped", holds=1)

    await bot.say(ANA, "/history")
    text = bot.last(ANA.id).text
    assert "&lt;b&gt;Bo&lt;/b&gt; 5/5" in text
    assert "<b>Bo</b>" not in text
    assert "(stopped early)" in text
    assert "Back-feel: not rated" in text


async def test_history_with_two_partners_asks_whose(bot: BotHarness) -> None:
    await pair_in_database(bot, ANA, BEN)
    cal_pair = await pair_in_database(bot, ANA, CAL, home=None)
    await finished(bot, cal_pair, MONDAY, {CAL.id: 2})

    await bot.say(ANA, "/history")
    question = bot.last(ANA.id)
    assert [label for label, _ in question.buttons] == ["Ben", "Cal"]
    await bot.press(ANA, question, "Cal")
    assert "Your sessions with Cal" in bot.last(ANA.id).text


# -- /streak -------------------------------------------------------------------------------


async def test_a_weekday_pair_keeps_its_streak_over_the_weekend(bot: BotHarness) -> None:
    pair = await pair_in_database(bot)
    await bot.say(ANA, "/remind 07:30 weekdays")
    # Monday 26 October to Friday 30, then Monday 2 November (today).
    for day in [*daily(date(2026, 10, 26), 5), MONDAY]:
        await finished(bot, pair, day)

    await bot.say(BEN, "/streak")
    text = bot.last(BEN.id).text
    assert "Your streak with Ana: <b>6 days</b>" in text
    assert "Best so far: 6 days." in text


async def test_an_owed_day_missed_breaks_the_streak(bot: BotHarness) -> None:
    pair = await pair_in_database(bot)
    for day in [*daily(date(2026, 10, 26), 4), date(2026, 11, 1), MONDAY]:
        await finished(bot, pair, day)
    await bot.say(ANA, "/streak")
    text = bot.last(ANA.id).text
    assert "<b>2 days</b>" in text
    assert "Best so far: 4 days." in text


async def tick(bot: BotHarness, when: datetime) -> None:
    """One run of the reminder dispatcher at `when`, as its job would run it."""
    bot.clock.set(when)
    job = dispatcher_job(bot.app)
    assert isinstance(job.data, ReminderDispatcher)
    await job.data.tick(bot.app.bot, bot.app.bot_data)


async def test_days_a_pause_silenced_do_not_break_the_streak(bot: BotHarness) -> None:
    # Friday 30 October: a daily 07:30 reminder and a session; early on Saturday,
    # /pause 2 (Saturday and Sunday).
    bot.clock.set(datetime(2026, 10, 30, 12, 0, tzinfo=UTC))
    pair = await pair_in_database(bot)
    await bot.say(ANA, "/remind 07:30")
    await finished(bot, pair, date(2026, 10, 30))
    bot.clock.set(datetime(2026, 10, 31, 6, 0, tzinfo=UTC))
    await bot.say(ANA, "/pause 2")
    # The dispatcher holds back Saturday's and Sunday's reminders and records them paused
    # (on the delivery, not on a partner's copy: no copy is sent).
    for day in (31, 1):
        await tick(bot, datetime(2026, 10 if day == 31 else 11, day, 7, 30, tzinfo=UTC))
    async with bot.app.bot_data.db.unit(read_only=True) as unit:
        statuses = [(d.local_date, d.status) for d in await unit.reminders.deliveries_of(pair.id)]
    assert statuses == [(date(2026, 10, 31), "paused"), (date(2026, 11, 1), "paused")]
    bot.clock.set(datetime(2026, 11, 2, 12, 0, tzinfo=UTC))
    await finished(bot, pair, MONDAY)

    await bot.say(ANA, "/streak")
    assert "<b>2 days</b>" in bot.last(ANA.id).text


async def test_the_streak_counts_the_pairs_local_today_across_daylight_saving(
    bot: BotHarness,
) -> None:
    pair = await pair_in_database(bot)
    await bot.say(ANA, "/timezone Europe/Berlin")
    for day in daily(date(2026, 10, 23), 4):  # Berlin falls back on Sunday 25 October
        await finished(bot, pair, day, zone="Europe/Berlin")
    # 00:30 on Monday 26 October in Berlin is still Sunday in UTC.
    bot.clock.set(datetime(2026, 10, 26, 0, 30, tzinfo=ZoneInfo("Europe/Berlin")))

    await bot.say(ANA, "/streak")
    assert "<b>4 days</b>" in bot.last(ANA.id).text


async def test_a_pair_without_sessions_has_no_streak_yet(bot: BotHarness) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/streak")
    assert "No streak with Ben yet" in bot.last(ANA.id).text


# -- which pair ------------------------------------------------------------------------------


async def test_without_a_partner_here_history_streak_and_progress_say_how_to_get_one(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot, home=None)
    office = Group(-100999, "Office")
    await bot.say(CAL, "/start")
    bot.new(CAL.id)

    for command in ("/history", "/streak", "/progress"):
        await bot.say(CAL, command)
        await bot.say(ANA, command, chat=office)

    no_partner = "You don't have a partner yet. Send /invite to pair up first."
    assert [m.text for m in bot.new(CAL.id)] == [no_partner] * 3
    assert bot.texts(office.id) == ["This group is not the home of a pair you are in."] * 3


async def test_streak_with_two_partners_asks_which_and_only_the_asker_may_pick(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot, ANA, BEN, home=None)
    await pair_in_database(bot, ANA, CAL, home=None)

    await bot.say(ANA, "/streak")
    [question] = bot.new(ANA.id)
    assert question.text == "/streak: with which partner?"
    assert [label for label, _ in question.buttons] == ["Ben", "Cal"]

    assert await bot.press(BEN, question, "Cal") == "This belongs to someone else."
    assert bot.new(ANA.id) == []
    await bot.press(ANA, question, "Cal")
    [answer] = bot.new(ANA.id)
    assert "No streak with Cal yet" in answer.text
