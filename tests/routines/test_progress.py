"""The numbers that feed the /progress chart, on golden data."""

from __future__ import annotations

from datetime import date, timedelta

from routines.progress import RatedSession, Trend, progress

ANA, BEN = 1, 2
TODAY = date(2026, 11, 25)  # a Wednesday; its week starts on Monday 23 November


def test_weeks_counts_and_each_partners_weekly_average() -> None:
    sessions = [
        # Twelve weeks back is outside the window and must not count.
        RatedSession(date(2026, 9, 6), {ANA: 1, BEN: 1}),
        # Week of 7 September, the first in the window: two sessions, Ana rated both.
        RatedSession(date(2026, 9, 7), {ANA: 2, BEN: 3}),
        RatedSession(date(2026, 9, 9), {ANA: 3}),
        # Week of 12 October: one session nobody rated.
        RatedSession(date(2026, 10, 14), {}),
        # Week of 23 November (this week): one session.
        RatedSession(date(2026, 11, 24), {ANA: 4, BEN: 4}),
    ]
    result = progress(sessions, TODAY, [ANA, BEN])

    assert result.week_starts[0] == date(2026, 9, 7)
    assert result.week_starts[-1] == date(2026, 11, 23)
    assert len(result.week_starts) == 12
    assert result.sessions == (2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1)
    assert result.feel[ANA][0] == 2.5
    assert result.feel[BEN][0] == 3.0
    assert result.feel[ANA][5] is None
    assert result.feel[ANA][11] == 4.0
    # Both partners together: (2 + 3 + 3) / 3 in the first week, 4 in the last.
    assert result.trend == Trend(first=2.7, last=4.0, weeks=11)
    assert result.trend.direction == "up"
    assert result.total_sessions == 4


def test_no_ratings_means_no_trend() -> None:
    result = progress([RatedSession(TODAY, {})], TODAY, [ANA, BEN])
    assert result.trend is None
    assert result.sessions[-1] == 1


def test_a_steady_back_feel_reads_as_steady() -> None:
    sessions = [
        RatedSession(TODAY - timedelta(weeks=3), {ANA: 3}),
        RatedSession(TODAY, {ANA: 3}),
    ]
    trend = progress(sessions, TODAY, [ANA, BEN]).trend
    assert trend == Trend(3.0, 3.0, 3)
    assert trend.direction == "steady"


def test_a_rating_by_someone_else_is_not_a_partners() -> None:
    result = progress([RatedSession(TODAY, {99: 5, ANA: 1})], TODAY, [ANA, BEN])
    assert result.feel[ANA][-1] == 1.0
    assert result.trend == Trend(1.0, 1.0, 0)
