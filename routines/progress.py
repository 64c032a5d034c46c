"""The numbers behind /progress: sessions per week and how each partner's back felt.

Pure: the caller passes the pair's sessions with their ratings and the local date of
today; weeks start on Monday in the pair's time zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

WEEKS = 12
# Averages closer than this read as "steady": a rating is a whole number from 1 to 5.
_STEADY = 0.1


@dataclass(frozen=True, slots=True)
class RatedSession:
    """One session that had holds done, with each partner's 1-5 answer, if any."""

    local_date: date
    ratings: Mapping[int, int]


@dataclass(frozen=True, slots=True)
class Trend:
    """Back-feel from the first rated week of the window to the latest one."""

    first: float
    last: float
    weeks: int  # between the two weeks' starts

    @property
    def direction(self) -> str:
        if abs(self.last - self.first) < _STEADY or self.weeks == 0:
            return "steady"
        return "up" if self.last > self.first else "down"


@dataclass(frozen=True, slots=True)
class Progress:
    week_starts: tuple[date, ...]  # Mondays, oldest first
    sessions: tuple[int, ...]  # sessions in each week
    # Each partner's average back-feel in each week; None for a week without an answer.
    feel: Mapping[int, tuple[float | None, ...]]
    trend: Trend | None  # None when no week of the window has a rating

    @property
    def total_sessions(self) -> int:
        return sum(self.sessions)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def progress(
    sessions: Sequence[RatedSession],
    today: date,
    partners: Sequence[int],
    *,
    weeks: int = WEEKS,
) -> Progress:
    """Weekly counts and averages over the `weeks` weeks up to and including today's."""
    last_week = week_start(today)
    starts = tuple(last_week - timedelta(weeks=weeks - 1 - i) for i in range(weeks))
    index = {start: i for i, start in enumerate(starts)}
    counts = [0] * weeks
    sums = {p: [0] * weeks for p in partners}
    answers = {p: [0] * weeks for p in partners}
    both_sum, both_n = [0] * weeks, [0] * weeks
    for session in sessions:
        i = index.get(week_start(session.local_date))
        if i is None or session.local_date > today:
            continue
        counts[i] += 1
        for person, rating in session.ratings.items():
            if person in sums:
                sums[person][i] += rating
                answers[person][i] += 1
                both_sum[i] += rating
                both_n[i] += 1
    feel = {
        p: tuple(s / n if n else None for s, n in zip(sums[p], answers[p], strict=True))
        for p in partners
    }
    rated = [i for i in range(weeks) if both_n[i]]
    trend = None
    if rated:
        first, last = rated[0], rated[-1]
        trend = Trend(
            first=round(both_sum[first] / both_n[first], 1),
            last=round(both_sum[last] / both_n[last], 1),
            weeks=last - first,
        )
    return Progress(starts, tuple(counts), feel, trend)
