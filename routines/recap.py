"""The weekly recap's rules: when it is due, and the week's numbers it tells.

Pure: the caller passes the pair's reminder slots, zone and sessions. The recap comes
once a week, on the ISO week's last day (Sunday, local time), at the pair's first
reminder slot of that day; a pair with no slot on Sundays gets it at 18:00.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta

from routines.reminder_time import Weekdays

__all__ = [
    "FALLBACK_TIME",
    "RECAP_DAY",
    "RECAP_GRACE",
    "WeekNumbers",
    "WeekSession",
    "recap_time",
    "week_numbers",
    "week_of",
]

# Sunday, as a weekday mask (Monday is bit 0).
RECAP_DAY = Weekdays(1 << 6)
FALLBACK_TIME = time(18, 0)
# A recap held up by downtime is still worth sending the same evening; a reminder's
# moment passes sooner, so the recap keeps its own, longer window.
RECAP_GRACE = timedelta(hours=6)


def recap_time(slots: Iterable[tuple[time, int]]) -> time:
    """The local time of the recap: the earliest slot that falls on Sunday, else 18:00.

    `slots` holds each reminder slot's (local time, weekday mask).
    """
    sundays = [at for at, mask in slots if RECAP_DAY.mask & mask]
    return min(sundays, default=FALLBACK_TIME)


def week_of(sunday: date) -> tuple[date, date]:
    """The ISO week that ends on `sunday`: its Monday and its Sunday."""
    return sunday - timedelta(days=sunday.weekday()), sunday + timedelta(days=6 - sunday.weekday())


@dataclass(frozen=True, slots=True)
class WeekSession:
    """One session of the week that had holds done, with each partner's answer, if any."""

    local_date: date
    seconds: int
    ratings: Mapping[int, int]


@dataclass(frozen=True, slots=True)
class WeekNumbers:
    """What the recap says about one week."""

    first_day: date
    last_day: date
    sessions: int
    minutes: int  # seconds stretched in the week, to the nearest minute
    streak: int  # the pair's current streak on the recap's day
    # Each partner's average back-feel over the week, one decimal; None if not rated.
    feel: Mapping[int, float | None]


def week_numbers(
    sessions: Sequence[WeekSession], sunday: date, partners: Sequence[int], streak: int
) -> WeekNumbers:
    """The week ending on `sunday`: sessions outside it are ignored."""
    first, last = week_of(sunday)
    inside = [s for s in sessions if first <= s.local_date <= last]
    feel: dict[int, float | None] = {}
    for partner in partners:
        answers = [s.ratings[partner] for s in inside if partner in s.ratings]
        feel[partner] = round(sum(answers) / len(answers), 1) if answers else None
    seconds = sum(s.seconds for s in inside)
    return WeekNumbers(
        first_day=first,
        last_day=last,
        sessions=len(inside),
        minutes=(seconds + 30) // 60,
        streak=streak,
        feel=feel,
    )
