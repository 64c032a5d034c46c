"""The pure time arithmetic of reminders: parsing, next due instants, grace and pauses."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routines.reminder_time import (
    Due,
    InputProblem,
    ReminderInputError,
    Weekdays,
    instant_of,
    is_still_useful,
    next_due,
    parse_clock,
    parse_days,
    parse_pause,
    pause_until,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
KATHMANDU = ZoneInfo("Asia/Kathmandu")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
NUUK = ZoneInfo("America/Nuuk")
UTC_ZONE = ZoneInfo("UTC")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- Weekdays -----------------------------------------------------------------------


def test_the_named_sets_have_their_masks() -> None:
    assert Weekdays.DAILY.mask == 0b111_1111
    assert Weekdays.WEEKDAYS.mask == 0b001_1111
    assert Weekdays.WEEKENDS.mask == 0b110_0000


def test_a_custom_set_lists_its_days_monday_first() -> None:
    assert Weekdays.of(4, 0, 2).weekdays() == (0, 2, 4)
    assert Weekdays.of(6).weekdays() == (6,)


def test_a_set_built_from_all_five_working_days_is_the_weekdays() -> None:
    assert Weekdays.of(0, 1, 2, 3, 4) == Weekdays.WEEKDAYS


def test_weekdays_contain_monday_to_friday_and_not_the_weekend() -> None:
    week = [date(2026, 6, 1) + timedelta(days=n) for n in range(7)]  # Monday first
    assert [Weekdays.WEEKDAYS.contains(day) for day in week] == [True] * 5 + [False] * 2
    assert [Weekdays.WEEKENDS.contains(day) for day in week] == [False] * 5 + [True] * 2


@pytest.mark.parametrize("mask", [0, 128, -1])
def test_an_empty_or_out_of_range_mask_is_refused(mask: int) -> None:
    with pytest.raises(ValueError, match="mask"):
        Weekdays(mask)


# --- parse_clock ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7:30", time(7, 30)),
        ("07:30", time(7, 30)),
        ("19:00", time(19, 0)),
        ("0:00", time(0, 0)),
        ("23:59", time(23, 59)),
        (" 06:05 ", time(6, 5)),
    ],
)
def test_a_24_hour_clock_time_is_read(text: str, expected: time) -> None:
    assert parse_clock(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("25:00", InputProblem.CLOCK_RANGE),
        ("12:60", InputProblem.CLOCK_RANGE),
        ("24:00", InputProblem.CLOCK_RANGE),
        ("13pm", InputProblem.CLOCK_RANGE),
        ("0am", InputProblem.CLOCK_RANGE),
        ("19:30pm", InputProblem.CLOCK_RANGE),
        ("25h", InputProblem.CLOCK_RANGE),
        ("7:5", InputProblem.CLOCK_FORMAT),
        ("", InputProblem.CLOCK_FORMAT),
        ("7", InputProblem.CLOCK_FORMAT),
        ("7:", InputProblem.CLOCK_FORMAT),
        ("7.", InputProblem.CLOCK_FORMAT),
        ("007:30", InputProblem.CLOCK_FORMAT),
        ("7 o'clock", InputProblem.CLOCK_FORMAT),
        ("7pmm", InputProblem.CLOCK_FORMAT),
        ("h30", InputProblem.CLOCK_FORMAT),
        ("٠٧:٣٠", InputProblem.CLOCK_FORMAT),
    ],
)
def test_a_bad_clock_time_is_refused_with_what_is_wrong(text: str, problem: InputProblem) -> None:
    with pytest.raises(ReminderInputError) as caught:
        parse_clock(text)
    assert caught.value.problem is problem
    assert caught.value.token == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7pm", time(19, 0)),
        ("7 PM", time(19, 0)),
        ("7p.m.", time(19, 0)),
        ("7am", time(7, 0)),
        ("7:30pm", time(19, 30)),
        ("7:30 am", time(7, 30)),
        ("7.30pm", time(19, 30)),
        ("12am", time(0, 0)),
        ("12:15am", time(0, 15)),
        ("12pm", time(12, 0)),
        ("7.30", time(7, 30)),
        ("19.05", time(19, 5)),
        ("19h", time(19, 0)),
        ("19H", time(19, 0)),
        ("7h45", time(7, 45)),
    ],
)
def test_everyday_ways_of_writing_a_time_are_read(text: str, expected: time) -> None:
    assert parse_clock(text) == expected


# --- parse_pause ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("7", 7),
        ("1", 1),
        ("3 days", 3),
        ("1 day", 1),
        ("3days", 3),
        ("3d", 3),
        ("3 D", 3),
        ("1 week", 7),
        ("2 weeks", 14),
        ("1w", 7),
        ("2 wks", 14),
        ("8 weeks", 56),
        ("60", 60),
    ],
)
def test_a_pause_is_read_in_days_or_weeks(text: str, days: int) -> None:
    assert parse_pause(text) == days


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0", InputProblem.PAUSE_RANGE),
        ("61", InputProblem.PAUSE_RANGE),
        ("9 weeks", InputProblem.PAUSE_RANGE),
        ("0 weeks", InputProblem.PAUSE_RANGE),
        ("", InputProblem.PAUSE_FORMAT),
        ("three days", InputProblem.PAUSE_FORMAT),
        ("3 months", InputProblem.PAUSE_FORMAT),
        ("-3", InputProblem.PAUSE_FORMAT),
        ("1.5 weeks", InputProblem.PAUSE_FORMAT),
        ("٣", InputProblem.PAUSE_FORMAT),
    ],
)
def test_a_bad_pause_is_refused_with_what_is_wrong(text: str, problem: InputProblem) -> None:
    with pytest.raises(ReminderInputError) as caught:
        parse_pause(text)
    assert caught.value.problem is problem


# --- parse_days ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, Weekdays.DAILY),
        ("daily", Weekdays.DAILY),
        ("DAILY", Weekdays.DAILY),
        ("weekdays", Weekdays.WEEKDAYS),
        ("Weekends", Weekdays.WEEKENDS),
        ("mon,wed,fri", Weekdays.of(0, 2, 4)),
        ("Mon, Tue", Weekdays.of(0, 1)),
        ("monday,friday", Weekdays.of(0, 4)),
        ("MONDAY Fri", Weekdays.of(0, 4)),
        ("mon,mon,Monday", Weekdays.of(0)),
        ("weekends, wed", Weekdays.of(2, 5, 6)),
        ("mon,tue,wed,thu,fri,sat,sun", Weekdays.DAILY),
        (",sun,", Weekdays.of(6)),
    ],
)
def test_days_are_read_from_keywords_and_lists(text: str | None, expected: Weekdays) -> None:
    assert parse_days(text) == expected


@pytest.mark.parametrize("text", ["", "   ", ",", " , ,"])
def test_empty_days_are_refused(text: str) -> None:
    with pytest.raises(ReminderInputError) as caught:
        parse_days(text)
    assert caught.value.problem is InputProblem.NO_DAYS


def test_an_unknown_day_name_is_refused_and_named() -> None:
    with pytest.raises(ReminderInputError) as caught:
        parse_days("mon,FunDay")
    assert caught.value.problem is InputProblem.UNKNOWN_DAY
    assert caught.value.token == "funday"


def test_a_long_unknown_day_name_is_kept_whole_for_the_renderer_to_clip() -> None:
    with pytest.raises(ReminderInputError) as caught:
        parse_days("x" * 500)
    assert caught.value.token == "x" * 500


# --- next_due: ordinary days -----------------------------------------------------------


def test_a_daily_slot_later_today_fires_today() -> None:
    due = next_due(time(19, 0), Weekdays.DAILY, BERLIN, utc(2026, 6, 1, 12, 0))
    assert due == Due(at_utc=utc(2026, 6, 1, 17, 0), local_date=date(2026, 6, 1))


def test_a_daily_slot_already_past_today_fires_tomorrow() -> None:
    due = next_due(time(7, 30), Weekdays.DAILY, BERLIN, utc(2026, 6, 1, 12, 0))
    assert due == Due(at_utc=utc(2026, 6, 2, 5, 30), local_date=date(2026, 6, 2))


def test_after_exactly_at_a_due_instant_gives_the_next_one() -> None:
    due = next_due(time(7, 30), Weekdays.DAILY, BERLIN, utc(2026, 6, 2, 5, 30))
    assert due.at_utc == utc(2026, 6, 3, 5, 30)


def test_one_microsecond_before_a_due_instant_gives_that_instant() -> None:
    after = utc(2026, 6, 2, 5, 30) - timedelta(microseconds=1)
    assert next_due(time(7, 30), Weekdays.DAILY, BERLIN, after).at_utc == utc(2026, 6, 2, 5, 30)


def test_the_result_is_in_utc_whatever_zone_after_is_given_in() -> None:
    after = datetime(2026, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))  # 12:00 UTC
    due = next_due(time(19, 0), Weekdays.DAILY, BERLIN, after)
    assert due.at_utc == utc(2026, 6, 1, 17, 0)
    assert due.at_utc.tzinfo is UTC


def test_a_naive_after_is_refused() -> None:
    naive = datetime(2026, 6, 1, 12, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="aware"):
        next_due(time(7, 30), Weekdays.DAILY, BERLIN, naive)


def test_a_slot_is_placed_by_the_local_date_of_the_pair_not_the_utc_date() -> None:
    # 23:30 UTC on 1 June is already 2 June in Kathmandu (+05:45).
    due = next_due(time(7, 0), Weekdays.DAILY, KATHMANDU, utc(2026, 6, 1, 23, 30))
    assert due == Due(at_utc=utc(2026, 6, 2, 1, 15), local_date=date(2026, 6, 2))


@pytest.mark.parametrize(
    ("slot", "after", "expected"),
    [
        (time(0, 0), utc(2026, 6, 1, 12, 0), utc(2026, 6, 1, 18, 15)),  # 00:00 on 2 June
        (time(23, 59), utc(2026, 6, 1, 12, 0), utc(2026, 6, 1, 18, 14)),  # 23:59 on 1 June
        (time(5, 45), utc(2026, 6, 1, 0, 0), utc(2026, 6, 2, 0, 0)),
    ],
)
def test_kathmandu_slots_honour_the_45_minute_offset(
    slot: time, after: datetime, expected: datetime
) -> None:
    assert next_due(slot, Weekdays.DAILY, KATHMANDU, after).at_utc == expected


def test_a_midnight_slot_belongs_to_the_date_that_starts_at_it() -> None:
    due = next_due(time(0, 0), Weekdays.DAILY, BERLIN, utc(2026, 6, 1, 12, 0))
    assert due == Due(at_utc=utc(2026, 6, 1, 22, 0), local_date=date(2026, 6, 2))


def test_a_2359_slot_belongs_to_the_date_that_ends_at_it() -> None:
    due = next_due(time(23, 59), Weekdays.DAILY, NEW_YORK, utc(2026, 6, 1, 12, 0))
    assert due == Due(at_utc=utc(2026, 6, 2, 3, 59), local_date=date(2026, 6, 1))


# --- next_due: weekday masks -------------------------------------------------------------


def test_a_weekdays_slot_on_friday_evening_skips_to_monday() -> None:
    # Friday 5 June 2026, after the 07:30 slot.
    due = next_due(time(7, 30), Weekdays.WEEKDAYS, BERLIN, utc(2026, 6, 5, 12, 0))
    assert due.local_date == date(2026, 6, 8)
    assert due.local_date.weekday() == 0


def test_a_mon_wed_fri_slot_fires_on_those_days_only() -> None:
    after = utc(2026, 6, 1, 0, 0)  # Monday 1 June, 02:00 Berlin
    dates = []
    for _ in range(6):
        due = next_due(time(18, 0), Weekdays.of(0, 2, 4), BERLIN, after)
        dates.append(due.local_date)
        after = due.at_utc
    assert dates == [
        date(2026, 6, 1),
        date(2026, 6, 3),
        date(2026, 6, 5),
        date(2026, 6, 8),
        date(2026, 6, 10),
        date(2026, 6, 12),
    ]


def test_a_weekends_slot_fires_on_saturday_and_sunday() -> None:
    after = utc(2026, 6, 1, 0, 0)
    first = next_due(time(9, 0), Weekdays.WEEKENDS, NEW_YORK, after)
    second = next_due(time(9, 0), Weekdays.WEEKENDS, NEW_YORK, first.at_utc)
    assert (first.local_date, second.local_date) == (date(2026, 6, 6), date(2026, 6, 7))


def test_a_slot_for_a_single_weekday_waits_a_whole_week_after_firing() -> None:
    due = next_due(time(7, 30), Weekdays.of(0), BERLIN, utc(2026, 6, 1, 5, 30))
    assert due == Due(at_utc=utc(2026, 6, 8, 5, 30), local_date=date(2026, 6, 8))


# --- next_due: 29 February --------------------------------------------------------------


def test_a_daily_slot_fires_on_29_february() -> None:
    after = utc(2028, 2, 28, 12, 0)
    first = next_due(time(7, 30), Weekdays.DAILY, BERLIN, after)
    second = next_due(time(7, 30), Weekdays.DAILY, BERLIN, first.at_utc)
    assert first == Due(at_utc=utc(2028, 2, 29, 6, 30), local_date=date(2028, 2, 29))
    assert second == Due(at_utc=utc(2028, 3, 1, 6, 30), local_date=date(2028, 3, 1))


def test_a_tuesday_slot_fires_on_29_february_2028_and_a_week_later() -> None:
    tuesday = Weekdays.of(1)
    assert date(2028, 2, 29).weekday() == 1
    first = next_due(time(18, 0), tuesday, NEW_YORK, utc(2028, 2, 26, 0, 0))
    second = next_due(time(18, 0), tuesday, NEW_YORK, first.at_utc)
    assert first == Due(at_utc=utc(2028, 2, 29, 23, 0), local_date=date(2028, 2, 29))
    assert second == Due(at_utc=utc(2028, 3, 7, 23, 0), local_date=date(2028, 3, 7))


# --- next_due: daylight saving -------------------------------------------------------------


def _case(name: str, zone: ZoneInfo, slot: str, *, after: str, fires: str, on: str) -> object:
    """A row of the table: times read as UTC, ``on`` is the local date the slot is for."""
    return pytest.param(
        zone,
        time.fromisoformat(slot),
        datetime.fromisoformat(after).replace(tzinfo=UTC),
        Due(datetime.fromisoformat(fires).replace(tzinfo=UTC), date.fromisoformat(on)),
        id=name,
    )


# fmt: off
DST_CASES = [
    # Berlin springs forward 2026-03-29 02:00 CET -> 03:00 CEST (gap 02:00-03:00).
    _case("berlin gap slot fires at 03:00 CEST", BERLIN, "02:30",
          after="2026-03-28 12:00", fires="2026-03-29 01:00", on="2026-03-29"),
    _case("berlin gap start fires at 03:00 CEST", BERLIN, "02:00",
          after="2026-03-28 12:00", fires="2026-03-29 01:00", on="2026-03-29"),
    _case("berlin just before the gap", BERLIN, "01:59",
          after="2026-03-28 12:00", fires="2026-03-29 00:59", on="2026-03-29"),
    _case("berlin gap end", BERLIN, "03:00",
          after="2026-03-28 12:00", fires="2026-03-29 01:00", on="2026-03-29"),
    _case("berlin just after the gap", BERLIN, "03:01",
          after="2026-03-28 12:00", fires="2026-03-29 01:01", on="2026-03-29"),
    _case("berlin day before the gap", BERLIN, "02:30",
          after="2026-03-27 12:00", fires="2026-03-28 01:30", on="2026-03-28"),
    _case("berlin day after the gap", BERLIN, "02:30",
          after="2026-03-29 01:00", fires="2026-03-30 00:30", on="2026-03-30"),
    # Berlin falls back 2026-10-25 03:00 CEST -> 02:00 CET (fold 02:00-03:00).
    _case("berlin fold slot fires at first occurrence", BERLIN, "02:30",
          after="2026-10-24 12:00", fires="2026-10-25 00:30", on="2026-10-25"),
    _case("berlin fold start", BERLIN, "02:00",
          after="2026-10-24 12:00", fires="2026-10-25 00:00", on="2026-10-25"),
    _case("berlin just before the fold", BERLIN, "01:59",
          after="2026-10-24 12:00", fires="2026-10-24 23:59", on="2026-10-25"),
    _case("berlin just after the fold", BERLIN, "03:00",
          after="2026-10-24 12:00", fires="2026-10-25 02:00", on="2026-10-25"),
    _case("berlin fold slot not again at second occurrence", BERLIN, "02:30",
          after="2026-10-25 00:30", fires="2026-10-26 01:30", on="2026-10-26"),
    _case("berlin between the two occurrences", BERLIN, "02:30",
          after="2026-10-25 01:00", fires="2026-10-26 01:30", on="2026-10-26"),
    _case("berlin after fall back evening", BERLIN, "19:00",
          after="2026-10-25 12:00", fires="2026-10-25 18:00", on="2026-10-25"),
    # New York springs forward 2026-03-08 02:00 EST -> 03:00 EDT.
    _case("new york gap slot fires at 03:00 EDT", NEW_YORK, "02:30",
          after="2026-03-07 12:00", fires="2026-03-08 07:00", on="2026-03-08"),
    _case("new york just before the gap", NEW_YORK, "01:59",
          after="2026-03-07 12:00", fires="2026-03-08 06:59", on="2026-03-08"),
    _case("new york just after the gap", NEW_YORK, "03:00",
          after="2026-03-07 12:00", fires="2026-03-08 07:00", on="2026-03-08"),
    _case("new york evening after the gap", NEW_YORK, "19:00",
          after="2026-03-08 12:00", fires="2026-03-08 23:00", on="2026-03-08"),
    # New York falls back 2026-11-01 02:00 EDT -> 01:00 EST (fold 01:00-02:00).
    _case("new york fold slot fires at first occurrence", NEW_YORK, "01:30",
          after="2026-10-31 12:00", fires="2026-11-01 05:30", on="2026-11-01"),
    _case("new york fold slot not again at second occurrence", NEW_YORK, "01:30",
          after="2026-11-01 05:30", fires="2026-11-02 06:30", on="2026-11-02"),
    _case("new york just before the fold", NEW_YORK, "00:59",
          after="2026-10-31 12:00", fires="2026-11-01 04:59", on="2026-11-01"),
    _case("new york just after the fold", NEW_YORK, "02:00",
          after="2026-10-31 12:00", fires="2026-11-01 07:00", on="2026-11-01"),
    _case("new york 02:30 exists once on fall back", NEW_YORK, "02:30",
          after="2026-10-31 12:00", fires="2026-11-01 07:30", on="2026-11-01"),
    # Lord Howe springs forward 30 minutes on 2026-10-04: 02:00 +10:30 -> 02:30 +11:00.
    _case("lord howe gap slot fires at 02:30", LORD_HOWE, "02:15",
          after="2026-10-03 00:00", fires="2026-10-03 15:30", on="2026-10-04"),
    _case("lord howe just before the gap", LORD_HOWE, "01:59",
          after="2026-10-03 00:00", fires="2026-10-03 15:29", on="2026-10-04"),
    _case("lord howe gap end", LORD_HOWE, "02:30",
          after="2026-10-03 00:00", fires="2026-10-03 15:30", on="2026-10-04"),
    _case("lord howe 03:00 after the gap", LORD_HOWE, "03:00",
          after="2026-10-03 00:00", fires="2026-10-03 16:00", on="2026-10-04"),
    # Lord Howe falls back 30 minutes on 2026-04-05: 02:00 +11:00 -> 01:30 +10:30.
    _case("lord howe fold slot fires at first occurrence", LORD_HOWE, "01:45",
          after="2026-04-04 00:00", fires="2026-04-04 14:45", on="2026-04-05"),
    _case("lord howe fold slot not again", LORD_HOWE, "01:45",
          after="2026-04-04 14:45", fires="2026-04-05 15:15", on="2026-04-06"),
    _case("lord howe just before the fold", LORD_HOWE, "01:29",
          after="2026-04-04 00:00", fires="2026-04-04 14:29", on="2026-04-05"),
    _case("lord howe just after the fold", LORD_HOWE, "02:00",
          after="2026-04-04 00:00", fires="2026-04-04 15:30", on="2026-04-05"),
    # Nuuk springs forward from 23:00 to 00:00: the gap eats the end of 2026-03-28.
    _case("nuuk gap slot fires at next midnight for its own date", NUUK, "23:30",
          after="2026-03-28 12:00", fires="2026-03-29 01:00", on="2026-03-28"),
    _case("nuuk slot after the gap fires next evening", NUUK, "23:30",
          after="2026-03-29 01:00", fires="2026-03-30 00:30", on="2026-03-29"),
    _case("nuuk midnight after the gap", NUUK, "00:00",
          after="2026-03-28 12:00", fires="2026-03-29 01:00", on="2026-03-29"),
]
# fmt: on


@pytest.mark.parametrize(("zone", "slot", "after", "expected"), DST_CASES)
def test_a_slot_fires_once_at_the_right_instant_across_daylight_saving(
    zone: ZoneInfo, slot: time, after: datetime, expected: Due
) -> None:
    assert next_due(slot, Weekdays.DAILY, zone, after) == expected


def test_a_slot_in_the_gap_fires_at_the_wall_time_the_clock_jumps_to() -> None:
    at = next_due(time(2, 30), Weekdays.DAILY, BERLIN, utc(2026, 3, 28, 12)).at_utc
    local = at.astimezone(BERLIN)
    assert (local.hour, local.minute, local.utcoffset()) == (3, 0, timedelta(hours=2))


def test_a_gap_shifted_slot_is_keyed_by_its_scheduled_date_not_its_local_date() -> None:
    due = next_due(time(23, 30), Weekdays.of(5), NUUK, utc(2026, 3, 28, 12))  # Saturdays
    assert due.local_date == date(2026, 3, 28)
    assert due.at_utc.astimezone(NUUK).date() == date(2026, 3, 29)


def test_a_weekday_slot_in_the_gap_still_fires_on_its_own_day() -> None:
    # 2026-03-29 is a Sunday; the slot fires there, once, and next on the following Sunday.
    sunday = Weekdays.of(6)
    first = next_due(time(2, 30), sunday, BERLIN, utc(2026, 3, 25, 0))
    second = next_due(time(2, 30), sunday, BERLIN, first.at_utc)
    assert first == Due(utc(2026, 3, 29, 1, 0), date(2026, 3, 29))
    assert second == Due(utc(2026, 4, 5, 0, 30), date(2026, 4, 5))


def test_instant_of_resolves_gap_and_fold_like_next_due() -> None:
    assert instant_of(date(2026, 3, 29), time(2, 30), BERLIN) == utc(2026, 3, 29, 1, 0)
    assert instant_of(date(2026, 10, 25), time(2, 30), BERLIN) == utc(2026, 10, 25, 0, 30)
    assert instant_of(date(2026, 6, 1), time(12, 0), KATHMANDU) == utc(2026, 6, 1, 6, 15)


def test_a_slot_given_with_fold_1_still_fires_at_the_first_occurrence() -> None:
    slot = time(2, 30, fold=1)
    due = next_due(slot, Weekdays.DAILY, BERLIN, utc(2026, 10, 24, 12))
    assert due.at_utc == utc(2026, 10, 25, 0, 30)


# --- next_due: a year at a time ------------------------------------------------------------


def _dues_over(
    slot: time, days: Weekdays, zone: ZoneInfo, start: datetime, end: datetime
) -> list[Due]:
    dues: list[Due] = []
    after = start
    while True:
        due = next_due(slot, days, zone, after)
        if due.at_utc >= end:
            return dues
        dues.append(due)
        after = due.at_utc


def test_a_daily_0230_berlin_slot_fires_365_times_in_2026_once_per_local_date() -> None:
    start = datetime(2026, 1, 1, tzinfo=BERLIN)
    end = datetime(2027, 1, 1, tzinfo=BERLIN)
    dues = _dues_over(time(2, 30), Weekdays.DAILY, BERLIN, start, end)
    assert len(dues) == 365
    assert [due.local_date for due in dues] == [
        date(2026, 1, 1) + timedelta(days=n) for n in range(365)
    ]
    assert all(later.at_utc > earlier.at_utc for earlier, later in pairwise(dues))


def test_a_weekdays_new_york_slot_fires_on_every_working_day_of_2026() -> None:
    start = datetime(2026, 1, 1, tzinfo=NEW_YORK)
    end = datetime(2027, 1, 1, tzinfo=NEW_YORK)
    dues = _dues_over(time(1, 30), Weekdays.WEEKDAYS, NEW_YORK, start, end)
    working_days = [
        day
        for day in (date(2026, 1, 1) + timedelta(days=n) for n in range(365))
        if day.weekday() < 5
    ]
    assert [due.local_date for due in dues] == working_days


ZONES = st.sampled_from(
    [
        "Europe/Berlin",
        "America/New_York",
        "Asia/Kathmandu",
        "Australia/Lord_Howe",
        "America/Nuuk",
        "America/Santiago",
        "Asia/Tehran",
        "Pacific/Chatham",
        "UTC",
    ]
).map(ZoneInfo)
CLOCK_TIMES = st.builds(time, st.integers(0, 23), st.integers(0, 59))
MASKS = st.integers(1, 127).map(Weekdays)
INSTANTS = st.datetimes(
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive by design
    max_value=datetime(2030, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@settings(max_examples=150, deadline=None)
@given(zone=ZONES, slot=CLOCK_TIMES, days=MASKS, start=INSTANTS)
def test_consecutive_dues_strictly_increase_and_never_repeat_a_local_date(
    zone: ZoneInfo, slot: time, days: Weekdays, start: datetime
) -> None:
    dues = []
    after = start
    for _ in range(40):
        due = next_due(slot, days, zone, after)
        assert due.at_utc > after
        assert due.at_utc.tzinfo is UTC
        assert days.contains(due.local_date)
        dues.append(due)
        after = due.at_utc
    assert all(later.at_utc > earlier.at_utc for earlier, later in pairwise(dues))
    local_dates = [due.local_date for due in dues]
    assert local_dates == sorted(set(local_dates))


@settings(max_examples=150, deadline=None)
@given(zone=ZONES, slot=CLOCK_TIMES, days=MASKS, start=INSTANTS)
def test_no_allowed_date_is_skipped_between_consecutive_dues(
    zone: ZoneInfo, slot: time, days: Weekdays, start: datetime
) -> None:
    first = next_due(slot, days, zone, start)
    second = next_due(slot, days, zone, first.at_utc)
    between = [
        first.local_date + timedelta(days=n)
        for n in range(1, (second.local_date - first.local_date).days)
    ]
    assert not any(days.contains(day) for day in between)


@settings(max_examples=150, deadline=None)
@given(zone=ZONES, slot=CLOCK_TIMES, start=INSTANTS)
def test_a_due_fires_at_its_wall_time_unless_that_wall_time_does_not_exist(
    zone: ZoneInfo, slot: time, start: datetime
) -> None:
    due = next_due(slot, Weekdays.DAILY, zone, start)
    local = due.at_utc.astimezone(zone)
    if (local.date(), local.time()) != (due.local_date, slot):
        # Only a gap may move a slot, and only forward, to where the clock jumped to.
        wall = datetime.combine(due.local_date, slot)
        assert local.replace(tzinfo=None) > wall
        just_before = (due.at_utc - timedelta(microseconds=1)).astimezone(zone)
        assert just_before.replace(tzinfo=None) < wall


# --- is_still_useful ------------------------------------------------------------------------

GRACE = timedelta(minutes=60)


@pytest.mark.parametrize(
    ("late_by", "useful"),
    [
        (timedelta(0), True),
        (timedelta(minutes=59, seconds=59), True),
        (timedelta(minutes=60), True),
        (timedelta(minutes=60, microseconds=1), False),
        (timedelta(hours=9), False),
        (-timedelta(minutes=5), True),
    ],
)
def test_a_late_slot_is_sent_only_within_the_grace(late_by: timedelta, useful: bool) -> None:
    due_at = utc(2026, 6, 1, 5, 30)
    assert is_still_useful(due_at, due_at + late_by, GRACE) is useful


def test_lateness_is_measured_in_instants_not_wall_times() -> None:
    due_at = utc(2026, 6, 1, 5, 30)
    now_in_berlin = datetime(2026, 6, 1, 8, 0, tzinfo=BERLIN)  # 06:00 UTC, 30 min late
    assert is_still_useful(due_at, now_in_berlin, GRACE)


def test_a_zero_grace_sends_only_on_time() -> None:
    due_at = utc(2026, 6, 1, 5, 30)
    assert is_still_useful(due_at, due_at, timedelta(0))
    assert not is_still_useful(due_at, due_at + timedelta(seconds=1), timedelta(0))


def test_a_negative_grace_is_refused() -> None:
    due_at = utc(2026, 6, 1, 5, 30)
    with pytest.raises(ValueError, match="grace"):
        is_still_useful(due_at, due_at, -timedelta(minutes=1))


# --- pause_until --------------------------------------------------------------------------


def test_a_seven_day_pause_on_monday_resumes_at_midnight_starting_next_monday() -> None:
    now = datetime(2026, 6, 1, 15, 0, tzinfo=BERLIN)  # Monday
    assert pause_until(now, 7, BERLIN) == datetime(2026, 6, 8, 0, 0, tzinfo=BERLIN)


def test_a_one_day_pause_silences_the_rest_of_today() -> None:
    now = utc(2026, 6, 1, 12, 0)
    assert pause_until(now, 1, NEW_YORK) == datetime(2026, 6, 2, 0, 0, tzinfo=NEW_YORK)


def test_a_pause_counts_days_in_the_pairs_zone() -> None:
    # 20:00 UTC on 1 June is already 2 June in Kathmandu.
    resumes = pause_until(utc(2026, 6, 1, 20, 0), 1, KATHMANDU)
    assert resumes == utc(2026, 6, 2, 18, 15)  # 00:00 on 3 June in Kathmandu
    assert resumes.tzinfo is UTC


def test_a_pause_across_a_clock_change_resumes_at_local_midnight() -> None:
    resumes = pause_until(datetime(2026, 3, 25, 9, 0, tzinfo=BERLIN), 7, BERLIN)
    assert resumes == utc(2026, 3, 31, 22, 0)  # 00:00 CEST on 1 April


def test_a_pause_ending_right_after_a_gap_resumes_when_the_clock_jumps_to_midnight() -> None:
    # Nuuk's 2026-03-29 begins at the jump from 23:00 to 00:00 on the 28th.
    resumes = pause_until(datetime(2026, 3, 28, 9, 0, tzinfo=NUUK), 1, NUUK)
    assert resumes == utc(2026, 3, 29, 1, 0)


@pytest.mark.parametrize("days", [0, -1, 61, 1000])
def test_a_pause_outside_1_to_60_days_is_refused(days: int) -> None:
    with pytest.raises(ReminderInputError) as caught:
        pause_until(utc(2026, 6, 1, 12, 0), days, BERLIN)
    assert caught.value.problem is InputProblem.PAUSE_RANGE


def test_a_sixty_day_pause_is_allowed() -> None:
    resumes = pause_until(utc(2026, 6, 1, 12, 0), 60, UTC_ZONE)
    assert resumes == utc(2026, 7, 31, 0, 0)
