"""Forgiving input, as people type it: times, pauses, routine names and clock names.

Every lenient form is read as meant; every wrong one is answered with an example.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from storage.records import PairRecord
from tests.bot.session_helpers import ANA, BEN, CAL, pair_in_database
from tests.harness import BotHarness

# The FakeClock starts on Monday 2026-11-02 09:00 UTC; the pair's zone is UTC.


async def slot_times(bot: BotHarness, pair: PairRecord) -> list[tuple[time, int]]:
    async with bot.app.bot_data.db.unit() as unit:
        return [(s.local_time, s.weekdays) for s in await unit.reminders.slots_of(pair.id)]


async def stored_pair(bot: BotHarness, pair: PairRecord) -> PairRecord:
    async with bot.app.bot_data.db.unit() as unit:
        stored = await unit.pairs.get(pair.id)
    assert stored is not None
    return stored


# -- /remind ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "at", "days"),
    [
        ("7pm", time(19, 0), 0b111_1111),
        ("7 pm", time(19, 0), 0b111_1111),
        ("7 p.m.", time(19, 0), 0b111_1111),
        ("7:30pm", time(19, 30), 0b111_1111),
        ("7:30 am weekdays", time(7, 30), 0b001_1111),
        ("7.30", time(7, 30), 0b111_1111),
        ("19h", time(19, 0), 0b111_1111),
        ("6:45PM mon,wed,fri", time(18, 45), 0b001_0101),
        ("12am", time(0, 0), 0b111_1111),
    ],
)
async def test_remind_reads_a_time_as_people_write_it(
    bot: BotHarness, typed: str, at: time, days: int
) -> None:
    pair = await pair_in_database(bot, home=None)

    await bot.say(ANA, f"/remind {typed}")

    [reply] = bot.new(ANA.id)
    assert reply.text.startswith(f"Done! I'll remind you and Ben at {at:%H:%M}")
    assert await slot_times(bot, pair) == [(at, days)]


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("7", "Please give the time like 07:30, 7pm, 7:30pm or 19h."),
        ("seven", "Please give the time like 07:30, 7pm, 7:30pm or 19h."),
        ("7: pm", "Please give the time like 07:30, 7pm, 7:30pm or 19h."),
        ("13pm", "That time does not exist. Please give a time from 00:00 to 23:59."),
        ("19:30 pm", "That time does not exist. Please give a time from 00:00 to 23:59."),
        ("7pm someday", 'I don\'t know the day "someday".'),
    ],
)
async def test_remind_answers_a_time_it_cannot_read_with_an_example(
    bot: BotHarness, typed: str, answer: str
) -> None:
    pair = await pair_in_database(bot, home=None)

    await bot.say(ANA, f"/remind {typed}")

    [reply] = bot.new(ANA.id)
    assert reply.text.startswith(answer)
    assert await slot_times(bot, pair) == []


# -- /pause ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "back_on", "until"),
    [
        ("3", "Thu 5 Nov", datetime(2026, 11, 5, tzinfo=UTC)),
        ("3 days", "Thu 5 Nov", datetime(2026, 11, 5, tzinfo=UTC)),
        ("3d", "Thu 5 Nov", datetime(2026, 11, 5, tzinfo=UTC)),
        ("1 week", "Mon 9 Nov", datetime(2026, 11, 9, tzinfo=UTC)),
        ("2 Weeks", "Mon 16 Nov", datetime(2026, 11, 16, tzinfo=UTC)),
    ],
)
async def test_pause_reads_days_and_weeks(
    bot: BotHarness, typed: str, back_on: str, until: datetime
) -> None:
    pair = await pair_in_database(bot, home=None)

    await bot.say(ANA, f"/pause {typed}")

    [reply] = bot.new(ANA.id)
    assert reply.text.startswith(f"Reminders with Ben are paused, back on {back_on}.")
    assert (await stored_pair(bot, pair)).reminders_paused_until == until


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("", "Pause for how long? Like /pause 3 days or /pause 1 week (at most 60 days)."),
        ("a while", "Pause for how long? Like /pause 3 days or /pause 1 week (at most 60 days)."),
        ("2 months", "Pause for how long? Like /pause 3 days or /pause 1 week (at most 60 days)."),
        ("9 weeks", "Please pause for 1 to 60 days, like /pause 7."),
        ("0 days", "Please pause for 1 to 60 days, like /pause 7."),
    ],
)
async def test_pause_answers_what_it_cannot_read_with_an_example(
    bot: BotHarness, typed: str, answer: str
) -> None:
    pair = await pair_in_database(bot, home=None)

    await bot.say(ANA, f"/pause {typed}".strip())

    assert [m.text for m in bot.new(ANA.id)] == [answer]
    assert (await stored_pair(bot, pair)).reminders_paused_until is None


# -- /stretch --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "routine_id"),
    [
        ("lower back", "lower-back"),
        ("Lower Back", "lower-back"),
        ("lower_back", "lower-back"),
        ("LOWER-BACK", "lower-back"),
        ("lower back relief", "lower-back"),
        ("lower", "lower-back"),
        ("Quick", "quick"),
        ("quick unwind", "quick"),
    ],
)
async def test_stretch_finds_the_routine_by_its_name_in_any_case_and_spacing(
    bot: BotHarness, typed: str, routine_id: str
) -> None:
    await pair_in_database(bot, home=None)

    await bot.say(ANA, f"/stretch {typed}")

    async with bot.app.bot_data.db.unit() as unit:
        live = await unit.sessions.live_of_user(ANA.id)
    assert live is not None and live.routine_id == routine_id


@pytest.mark.parametrize("typed", ["yoga", "lower front", "back"])
async def test_stretch_answers_a_routine_it_does_not_know_with_examples(
    bot: BotHarness, typed: str
) -> None:
    await pair_in_database(bot, home=None)

    await bot.say(ANA, f"/stretch {typed}")

    assert [m.text for m in bot.new(ANA.id)] == [
        "I don't know that routine. Try /stretch lower-back or /stretch quick."
    ]
    async with bot.app.bot_data.db.unit() as unit:
        assert await unit.sessions.live_of_user(ANA.id) is None


# -- /timezone -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "zone", "local"),
    [
        ("EST", "America/New_York", "04:00"),
        ("pst", "America/Los_Angeles", "01:00"),
        ("PDT", "America/Los_Angeles", "01:00"),
        ("BST", "Europe/London", "09:00"),
        ("JST", "Asia/Tokyo", "18:00"),
    ],
)
async def test_a_clock_abbreviation_asks_to_confirm_a_city_zone_and_sets_it(
    bot: BotHarness, typed: str, zone: str, local: str
) -> None:
    pair = await pair_in_database(bot, home=None)

    await bot.say(ANA, f"/timezone {typed}")
    [question] = bot.new(ANA.id)
    assert (await stored_pair(bot, pair)).timezone == "UTC"
    place = zone.rsplit("/", 1)[-1].replace("_", " ")
    assert question.text == (
        f"“{typed}” is the clock of {place}. Use <b>{zone}</b>? "
        "It follows daylight saving by itself."
    )
    assert [label for label, _ in question.buttons] == [f"{place} ({zone})"]

    await bot.press(ANA, question, zone)

    assert bot.last(ANA.id).text == (
        f"Done: you and Ben now use <b>{zone}</b> (it's {local} there now)."
    )
    assert [m.text for m in bot.new(BEN.id)] == [
        f"Ana set your pair's time zone to <b>{zone}</b>. Change it any time with /timezone."
    ]
    assert (await stored_pair(bot, pair)).timezone == zone


async def test_the_zone_of_an_abbreviation_keeps_daylight_saving(bot: BotHarness) -> None:
    await pair_in_database(bot, home=None)
    await bot.say(ANA, "/timezone EST")
    [question] = bot.new(ANA.id)
    bot.clock.set(datetime(2027, 7, 1, 12, tzinfo=UTC))  # summer: EDT, UTC-4

    await bot.press(ANA, question, "America/New_York")

    assert "(it's 08:00 there now)" in bot.last(ANA.id).text


@pytest.mark.parametrize(
    ("typed", "zones"),
    [
        ("IST", ["Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"]),
        ("CST", ["America/Chicago", "Asia/Shanghai"]),
        ("CET", ["Europe/Berlin", "Europe/Paris"]),
    ],
)
async def test_an_abbreviation_several_places_use_offers_each_of_them(
    bot: BotHarness, typed: str, zones: list[str]
) -> None:
    pair = await pair_in_database(bot, home=None)

    await bot.say(ANA, f"/timezone {typed}")
    [question] = bot.new(ANA.id)
    assert question.text.startswith(f"“{typed}” is the clock of several places.")
    assert [label.split(" (")[1].rstrip(")") for label, _ in question.buttons] == zones

    await bot.press(ANA, question, zones[1])

    assert (await stored_pair(bot, pair)).timezone == zones[1]


async def test_only_the_asker_may_confirm_an_abbreviation(bot: BotHarness) -> None:
    pair = await pair_in_database(bot, home=None)
    await bot.say(ANA, "/timezone EST")
    [question] = bot.new(ANA.id)

    answer = await bot.press(BEN, question, "America/New_York")

    assert answer == "This button isn't for you."
    assert (await stored_pair(bot, pair)).timezone == "UTC"
    assert bot.new(BEN.id) == []


async def test_a_user_with_several_partners_picks_the_pair_after_confirming(
    bot: BotHarness,
) -> None:
    with_ben = await pair_in_database(bot, ANA, BEN, home=None)
    with_cal = await pair_in_database(bot, ANA, CAL, home=None)
    await bot.say(ANA, "/timezone EST")
    [question] = bot.new(ANA.id)

    await bot.press(ANA, question, "America/New_York")
    chooser = bot.last(ANA.id)
    assert chooser.text == "Which pair should use <b>America/New_York</b>?"
    await bot.press(ANA, chooser, "Cal")

    assert (await stored_pair(bot, with_cal)).timezone == "America/New_York"
    assert (await stored_pair(bot, with_ben)).timezone == "UTC"


@pytest.mark.parametrize("kind", ["server_error", "timeout", "dropped"])
async def test_a_failed_edit_after_confirming_loses_neither_the_zone_nor_the_partners_notice(
    bot: BotHarness, kind: str
) -> None:
    pair = await pair_in_database(bot, home=None)
    await bot.say(ANA, "/timezone EST")
    [question] = bot.new(ANA.id)
    bot.world.fail("editMessageText", kind, chat_id=ANA.id)

    await bot.press(ANA, question, "America/New_York")

    assert (await stored_pair(bot, pair)).timezone == "America/New_York"
    assert [m.text for m in bot.new(BEN.id)] == [
        "Ana set your pair's time zone to <b>America/New_York</b>. "
        "Change it any time with /timezone."
    ]
    # The question still stands on Ana's phone; tapping again finishes it.
    await bot.press(ANA, question, "America/New_York")
    assert bot.last(ANA.id).text.startswith("Done: you and Ben now use <b>America/New_York</b>")


@pytest.mark.parametrize("typed", ["Narnia", "Atlantis", "xyzzy"])
async def test_a_name_that_matches_no_place_gets_examples_not_far_fetched_zones(
    bot: BotHarness, typed: str
) -> None:
    await bot.say(ANA, f"/timezone {typed}")

    assert bot.texts(ANA.id) == [
        f"I don't know “{typed}”. Try a big city near you or a zone, like "
        "<code>/timezone new york</code>, <code>/timezone Europe/Berlin</code> or "
        "<code>/timezone EST</code>, or share your location with me."
    ]
