"""Pure time arithmetic for daily reminders: parsing, next due instants, grace, pauses.

Nothing here reads a clock: every "now" is passed in, so the rules are testable at any
instant, including both daylight-saving changes of a year.

Daylight-saving rules (the choices the README promises under "Daily reminders"):

* A slot's wall time that does not exist on a date (spring-forward gap, e.g. 02:30
  Europe/Berlin on 2026-03-29) fires once, at the first valid instant after the gap
  (03:00 CEST = 01:00 UTC). If the gap swallows the rest of the date (America/Nuuk
  jumps from 23:00 to 00:00), that first instant lies on the next local date; it still
  belongs to the date it was scheduled for.
* A wall time that occurs twice (fall-back fold, e.g. 02:30 Europe/Berlin on
  2026-10-25) fires once, at its first occurrence (``fold=0``).
* :func:`next_due` returns a :class:`Due`: the UTC instant together with the local date
  the slot was scheduled for. The delivery key (pair, slot, local date) must use
  ``Due.local_date``, never the local date of ``Due.at_utc``, because the two differ
  for gap-shifted slots like the Nuuk one above.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import ClassVar
from zoneinfo import ZoneInfo

__all__ = [
    "MAX_PAUSE_DAYS",
    "MIN_PAUSE_DAYS",
    "Due",
    "InputProblem",
    "ReminderInputError",
    "Weekdays",
    "instant_of",
    "is_still_useful",
    "next_due",
    "parse_clock",
    "parse_days",
    "parse_pause",
    "pause_until",
]

MIN_PAUSE_DAYS = 1
MAX_PAUSE_DAYS = 60

_DAY_ABBREVIATIONS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class InputProblem(Enum):
    """What is wrong with a user's reminder input; `bot.render` says it in words."""

    CLOCK_FORMAT = "clock-format"  # not H:MM or HH:MM
    CLOCK_RANGE = "clock-range"  # shaped like a time, but no such time (25:00, 12:60)
    NO_DAYS = "no-days"  # days given, but none named
    UNKNOWN_DAY = "unknown-day"  # a word that names no day; `ReminderInputError.token`
    PAUSE_RANGE = "pause-range"  # not MIN_PAUSE_DAYS..MAX_PAUSE_DAYS days
    PAUSE_FORMAT = "pause-format"  # not a number of days or weeks


class ReminderInputError(ValueError):
    """A user's reminder input we refuse: the problem, and the word it is about if any.

    `token` is the user's own text (unknown days only), unescaped and uncut: whoever
    shows it decides how much of it to echo.
    """

    def __init__(self, problem: InputProblem, token: str = "") -> None:
        super().__init__(f"{problem.value}: {token}" if token else problem.value)
        self.problem = problem
        self.token = token


@dataclass(frozen=True, slots=True)
class Weekdays:
    """A non-empty set of weekdays as a 7-bit mask: Monday is bit 0, Sunday bit 6.

    The mask is what storage keeps, so it is a plain int and stable across versions.
    """

    mask: int

    DAILY: ClassVar[Weekdays]
    WEEKDAYS: ClassVar[Weekdays]
    WEEKENDS: ClassVar[Weekdays]

    def __post_init__(self) -> None:
        # An empty set would make next_due search forever; refuse it at the source.
        if not 1 <= self.mask <= 0b111_1111:
            raise ValueError(f"a weekday mask is 1..127, not {self.mask}")

    @classmethod
    def of(cls, *weekdays: int) -> Weekdays:
        """The set of the given ``date.weekday()`` numbers (Monday is 0)."""
        mask = 0
        for weekday in weekdays:
            if not 0 <= weekday <= 6:
                raise ValueError(f"a weekday is 0..6, not {weekday}")
            mask |= 1 << weekday
        return cls(mask)

    def has(self, weekday: int) -> bool:
        return bool(self.mask >> weekday & 1)

    def contains(self, day: date) -> bool:
        return self.has(day.weekday())

    def weekdays(self) -> tuple[int, ...]:
        """The weekday numbers in the set, Monday first."""
        return tuple(weekday for weekday in range(7) if self.has(weekday))


Weekdays.DAILY = Weekdays(0b111_1111)
Weekdays.WEEKDAYS = Weekdays(0b001_1111)
Weekdays.WEEKENDS = Weekdays(0b110_0000)

_KEYWORDS: dict[str, Weekdays] = {
    "daily": Weekdays.DAILY,
    "weekdays": Weekdays.WEEKDAYS,
    "weekends": Weekdays.WEEKENDS,
}
_DAY_NUMBERS: dict[str, int] = {
    **{name: number for number, name in enumerate(_DAY_ABBREVIATIONS)},
    **{name: number for number, name in enumerate(_DAY_NAMES)},
}

# ASCII digits only: "٠٧:٣٠" would otherwise pass \d and int() and surprise everyone.
# People write times many ways: "7:30", "7.30", "7pm", "7:30 pm", "19h", "19h30".
_CLOCK = re.compile(
    r"(?P<hour>\d{1,2})"
    r"(?:(?P<sep>[:.h])(?P<minute>\d{2})?)?"
    r"\s*(?P<half>[ap]\.?m\.?)?",
    re.ASCII | re.IGNORECASE,
)


def parse_clock(text: str) -> time:
    """The wall time in "7:30", "19:00", "7.30", "7pm", "7:30 pm", "19h" or "19h30"."""
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        raise ReminderInputError(InputProblem.CLOCK_FORMAT)
    separator, half = (match["sep"] or "").lower(), (match["half"] or "").lower()
    # A bare number is a time only with am/pm ("7pm"); "7" alone could be minutes or days.
    # ":" and "." need the minutes ("7:" is a typo), "h" may stand alone ("19h").
    if (not separator and not half) or (separator in (":", ".") and match["minute"] is None):
        raise ReminderInputError(InputProblem.CLOCK_FORMAT)
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    if half:
        if not 1 <= hour <= 12:
            raise ReminderInputError(InputProblem.CLOCK_RANGE)
        # 12am is midnight, 12pm is noon.
        hour = hour % 12 + (12 if half.startswith("p") else 0)
    if hour > 23 or minute > 59:
        raise ReminderInputError(InputProblem.CLOCK_RANGE)
    return time(hour, minute)


_PAUSE = re.compile(
    r"(?P<count>\d{1,3})\s*(?P<unit>d|days?|w|wks?|weeks?)?", re.ASCII | re.IGNORECASE
)


def parse_pause(text: str) -> int:
    """The days of a pause: "7", "3 days", "3d", "1 week", "2w" (a week is 7 days)."""
    match = _PAUSE.fullmatch(text.strip())
    if match is None:
        raise ReminderInputError(InputProblem.PAUSE_FORMAT)
    unit = (match["unit"] or "d").lower()
    days = int(match["count"]) * (7 if unit.startswith("w") else 1)
    if not MIN_PAUSE_DAYS <= days <= MAX_PAUSE_DAYS:
        raise ReminderInputError(InputProblem.PAUSE_RANGE)
    return days


def parse_days(text: str | None) -> Weekdays:
    """The days of "daily", "weekdays", "weekends" or a list like "mon,wed,fri".

    Missing days mean daily, as in ``/remind 07:30``. Names are case-insensitive, may be
    short or full ("fri", "Friday"), separated by commas and/or spaces; keywords may be
    mixed into a list ("weekends, wed") and repeats are harmless.
    """
    if text is None:
        return Weekdays.DAILY
    tokens = [token for token in re.split(r"[,\s]+", text.strip().lower()) if token]
    if not tokens:
        raise ReminderInputError(InputProblem.NO_DAYS)
    mask = 0
    for token in tokens:
        if token in _KEYWORDS:
            mask |= _KEYWORDS[token].mask
        elif token in _DAY_NUMBERS:
            mask |= 1 << _DAY_NUMBERS[token]
        else:
            raise ReminderInputError(InputProblem.UNKNOWN_DAY, token)
    return Weekdays(mask)


@dataclass(frozen=True, slots=True)
class Due:
    """When a slot fires next: the UTC instant, and the local date it was scheduled for.

    ``local_date`` is the date part of the delivery key (pair, slot, local date).
    """

    at_utc: datetime
    local_date: date


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {value!r}")


def _first_instant_after_gap(wall: datetime, zone: ZoneInfo) -> datetime:
    """The transition instant that opens the gap ``wall`` (naive) falls into, in UTC."""
    before = wall.replace(tzinfo=zone, fold=0).utcoffset()
    after = wall.replace(tzinfo=zone, fold=1).utcoffset()
    assert before is not None and after is not None
    # PEP 495: in a gap, fold=0 reads the wall time with the offset from before the
    # transition and fold=1 with the one after, so the transition lies between the two
    # readings. zoneinfo does not expose transitions, and they fall on whole seconds,
    # so bisecting down to a microsecond (about 40 steps for a day-long gap) lands on it
    # exactly.
    low = (wall - after).replace(tzinfo=UTC)  # still on the old offset
    high = (wall - before).replace(tzinfo=UTC)  # already on the new offset
    while high - low > timedelta(microseconds=1):
        middle = low + (high - low) // 2
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high


def instant_of(day: date, wall_time: time, zone: ZoneInfo) -> datetime:
    """The UTC instant the wall time ``wall_time`` on local date ``day`` stands for.

    Ambiguous wall times (fold) resolve to the first occurrence; missing ones (gap) to
    the first valid instant after the gap.
    """
    wall = datetime.combine(day, wall_time.replace(tzinfo=None, fold=0))
    local = wall.replace(tzinfo=zone)
    at_utc = local.astimezone(UTC)
    # A wall time exists iff it survives the round trip through UTC unchanged.
    if at_utc.astimezone(zone).replace(tzinfo=None) == wall:
        return at_utc
    return _first_instant_after_gap(wall, zone)


def next_due(local_time: time, days: Weekdays, zone: ZoneInfo, after: datetime) -> Due:
    """The first firing of the slot strictly after ``after`` (aware, in any zone)."""
    _require_aware(after, "after")
    after_utc = after.astimezone(UTC)
    start = after_utc.astimezone(zone).date()
    # Start a day early: a gap can push a slot of the previous date past midnight
    # (America/Nuuk), and such a slot may still be ahead of ``after``. Ten dates cover
    # that day, today, and a full week beyond even with a fold spanning midnight.
    for offset in range(-1, 9):
        day = start + timedelta(days=offset)
        if not days.contains(day):
            continue
        at_utc = instant_of(day, local_time, zone)
        if at_utc > after_utc:
            return Due(at_utc=at_utc, local_date=day)
    raise AssertionError("unreachable: a non-empty weekday set fires within a week")


def is_still_useful(due_at: datetime, now: datetime, grace: timedelta) -> bool:
    """Whether a slot due at ``due_at`` should still be sent at ``now``.

    A slot that is not yet due is trivially useful; one that came due is useful while it
    is at most ``grace`` late (the boundary itself included).
    """
    _require_aware(due_at, "due_at")
    _require_aware(now, "now")
    if grace < timedelta(0):
        raise ValueError(f"grace must not be negative, got {grace}")
    return now - due_at <= grace


def pause_until(now: datetime, days: int, zone: ZoneInfo) -> datetime:
    """The UTC instant reminders resume after ``/pause days``.

    Today counts as the first paused day, so ``/pause 7`` on a Monday silences Monday to
    Sunday and reminders resume at local midnight starting the next Monday. Whole local
    dates keep it easy to say ("back on Monday 8 June") and to reconcile with the streak,
    which also counts local dates. Should midnight fall into a gap, the pause ends at the
    first valid instant after it.
    """
    _require_aware(now, "now")
    if not MIN_PAUSE_DAYS <= days <= MAX_PAUSE_DAYS:
        raise ReminderInputError(InputProblem.PAUSE_RANGE)
    today = now.astimezone(zone).date()
    return instant_of(today + timedelta(days=days), time(0, 0), zone)
