"""The streak rule: which days count, which are excused, which break it."""

from __future__ import annotations

from datetime import date, timedelta

from routines.streak import Streaks, streaks

WEEKDAYS = 0b001_1111  # Monday to Friday
MONDAY = date(2026, 11, 2)


def days(first: date, count: int) -> set[date]:
    return {first + timedelta(days=i) for i in range(count)}


def test_no_sessions_is_no_streak() -> None:
    assert streaks([], MONDAY) == Streaks(0, 0)


def test_consecutive_days_up_to_today_count() -> None:
    assert streaks(days(MONDAY, 5), MONDAY + timedelta(days=4)) == Streaks(5, 5)


def test_today_not_done_yet_does_not_break_it() -> None:
    assert streaks(days(MONDAY, 3), MONDAY + timedelta(days=3)) == Streaks(3, 3)


def test_a_missed_day_owed_breaks_it_and_best_remembers() -> None:
    done = days(MONDAY, 4) | {MONDAY + timedelta(days=5), MONDAY + timedelta(days=6)}
    assert streaks(done, MONDAY + timedelta(days=6)) == Streaks(2, 4)


def test_a_weekday_pair_keeps_its_streak_over_the_weekend() -> None:
    # Mon-Fri of two weeks; Saturday and Sunday have no slot, so they are passed over.
    done = days(MONDAY, 5) | days(MONDAY + timedelta(weeks=1), 5)
    assert streaks(done, MONDAY + timedelta(days=11), slot_weekdays=WEEKDAYS) == Streaks(10, 10)


def test_a_daily_pair_breaks_its_streak_over_an_empty_weekend() -> None:
    done = days(MONDAY, 5) | days(MONDAY + timedelta(weeks=1), 5)
    assert streaks(done, MONDAY + timedelta(days=11), slot_weekdays=0b111_1111) == Streaks(5, 5)


def test_a_pair_without_slots_owes_every_day() -> None:
    done = days(MONDAY, 5) | days(MONDAY + timedelta(weeks=1), 5)
    assert streaks(done, MONDAY + timedelta(days=11)) == Streaks(5, 5)


def test_a_session_on_a_day_without_a_slot_still_counts() -> None:
    done = days(MONDAY, 6)  # Monday to Saturday
    assert streaks(done, MONDAY + timedelta(days=7), slot_weekdays=WEEKDAYS) == Streaks(6, 6)


def test_paused_days_do_not_break_it() -> None:
    paused = days(MONDAY + timedelta(days=2), 3)  # Wednesday to Friday
    done = days(MONDAY, 2) | days(MONDAY + timedelta(days=5), 2)
    assert streaks(done, MONDAY + timedelta(days=6), paused=paused) == Streaks(4, 4)


def test_a_missed_day_after_a_pause_breaks_it() -> None:
    paused = {MONDAY + timedelta(days=1)}
    done = {MONDAY, MONDAY + timedelta(days=3)}
    assert streaks(done, MONDAY + timedelta(days=3), paused=paused) == Streaks(1, 1)


def test_sessions_after_today_are_ignored() -> None:
    assert streaks(days(MONDAY, 3), MONDAY) == Streaks(1, 1)


def test_local_dates_across_daylight_saving_are_plain_days() -> None:
    # Berlin falls back on Sunday 25 October 2026: a 25-hour local day is one day.
    done = days(date(2026, 10, 23), 5)
    assert streaks(done, date(2026, 10, 27)) == Streaks(5, 5)
