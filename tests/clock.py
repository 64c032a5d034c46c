"""A clock the test moves by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0, **delta: float) -> datetime:
        self._now += timedelta(seconds=seconds, **delta)
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = instant


class RunningClock(FakeClock):
    """The wall clock, shifted: it runs at real speed from whatever instant the test sets.

    For tests where the real job queue (which waits on the wall clock) must meet the
    bot's idea of the time: a wait of N seconds on one is N seconds on the other.
    """

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(start)
        self.offset = self._now - datetime.now(UTC)
        self._held: datetime | None = None

    def now(self) -> datetime:
        if self._held is not None:
            return self._held
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float = 0, **delta: float) -> datetime:
        if self._held is not None:
            self._held += timedelta(seconds=seconds, **delta)
        else:
            self.offset += timedelta(seconds=seconds, **delta)
        return self.now()

    def set(self, instant: datetime) -> None:
        self._held = None
        self.offset = instant - datetime.now(UTC)

    def hold(self, instant: datetime) -> None:
        """Stand still at `instant`, however long the machine takes, until `run_from`."""
        self._held = instant

    def run_from(self, instant: datetime, *, wall: datetime) -> None:
        """Run again, so that the clock reads `instant` when the wall clock reads `wall`."""
        self._held = None
        self.offset = instant - wall
