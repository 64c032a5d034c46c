"""The weekly recap's rules and numbers, and who is stretched first: plain values only."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from routines.pair_settings import FirstReceiver, first_receiver
from routines.recap import (
    FALLBACK_TIME,
    RECAP_DAY,
    WeekNumbers,
    WeekSession,
    recap_time,
    week_numbers,
    week_of,
)
from routines.reminder_time import next_due

ANA, BEN = 1, 2
WEEKDAYS, WEEKENDS, DAILY, SUNDAY = 0b001_1111, 0b110_0000, 0b111_1111, 0b100_0000


# -- when --------------------------------------------------------------------------------------


def test_the_recap_comes_at_the_first_slot_that_falls_on_sunday() -> None:
    slots = [(time(19, 0), DAILY), (time(7, 30), WEEKDAYS), (time(9, 15), WEEKENDS)]
    assert recap_time(slots) == time(9, 15)


def test_without_a_sunday_slot_the_recap_comes_at_six_in_the_evening() -> None:
    assert recap_time([]) == FALLBACK_TIME == time(18, 0)
    assert recap_time([(time(7, 0), WEEKDAYS)]) == time(18, 0)


def test_the_recap_day_is_sunday_local_time_across_a_clock_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 2026-10-25 is the Sunday clocks fall back in Berlin: 18:00 local is 17:00 UTC.
    due = next_due(time(18, 0), RECAP_DAY, berlin, datetime(2026, 10, 24, 12, tzinfo=UTC))
    assert due.local_date == date(2026, 10, 25)
    assert due.at_utc == datetime(2026, 10, 25, 17, 0, tzinfo=UTC)
    # In Auckland the same Sunday evening is Sunday morning in UTC.
    auckland = next_due(
        time(18, 0), RECAP_DAY, ZoneInfo("Pacific/Auckland"), datetime(2026, 10, 24, tzinfo=UTC)
    )
    assert auckland.at_utc == datetime(2026, 10, 25, 5, 0, tzinfo=UTC)


def test_the_week_of_a_sunday_is_its_iso_week() -> None:
    assert week_of(date(2026, 12, 6)) == (date(2026, 11, 30), date(2026, 12, 6))


# -- the numbers (golden) ----------------------------------------------------------------------


def test_the_week_s_numbers_count_only_that_week() -> None:
    sessions = [
        WeekSession(date(2026, 11, 29), 600, {ANA: 1, BEN: 1}),  # the Sunday before
        WeekSession(date(2026, 11, 30), 545, {ANA: 3, BEN: 4}),
        WeekSession(date(2026, 12, 2), 300, {ANA: 4}),
        WeekSession(date(2026, 12, 2), 95, {}),
        WeekSession(date(2026, 12, 6), 620, {ANA: 5, BEN: 3}),
        WeekSession(date(2026, 12, 7), 600, {ANA: 1, BEN: 1}),  # the Monday after
    ]

    numbers = week_numbers(sessions, date(2026, 12, 6), (ANA, BEN), streak=4)

    assert numbers == WeekNumbers(
        first_day=date(2026, 11, 30),
        last_day=date(2026, 12, 6),
        sessions=4,
        minutes=26,  # 1560 s
        streak=4,
        feel={ANA: 4.0, BEN: 3.5},
    )


def test_a_week_without_sessions_has_zeros_and_no_back_feel() -> None:
    numbers = week_numbers([], date(2026, 12, 6), (ANA, BEN), streak=0)
    assert (numbers.sessions, numbers.minutes, numbers.feel) == (0, 0, {ANA: None, BEN: None})


def test_minutes_round_to_the_nearest_and_averages_to_one_decimal() -> None:
    sessions = [
        WeekSession(date(2026, 12, 1), 89, {ANA: 2}),
        WeekSession(date(2026, 12, 1), 1, {ANA: 3}),
        WeekSession(date(2026, 12, 3), 0, {ANA: 3}),
    ]
    numbers = week_numbers(sessions, date(2026, 12, 6), (ANA, BEN), streak=2)
    assert numbers.minutes == 2  # 90 s
    assert numbers.feel == {ANA: 2.7, BEN: None}


# -- who is stretched first --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "last_first", "expected"),
    [
        (FirstReceiver.STARTER, None, ANA),
        (FirstReceiver.STARTER, ANA, ANA),
        (FirstReceiver.PARTNER, None, BEN),
        (FirstReceiver.PARTNER, BEN, BEN),
        (FirstReceiver.ALTERNATE, None, ANA),
        (FirstReceiver.ALTERNATE, BEN, ANA),
        (FirstReceiver.ALTERNATE, ANA, BEN),
    ],
)
def test_who_is_stretched_first(
    rule: FirstReceiver, last_first: int | None, expected: int
) -> None:
    assert first_receiver(rule, ANA, BEN, last_first) == expected
