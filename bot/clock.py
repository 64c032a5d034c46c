"""Where the bot reads the time: one object, so tests can move it by hand."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SecondsFollowing:
    """Monotonic seconds that also leap ahead whenever `clock` is moved ahead of them.

    Telegram's budget paces sends in real seconds. Where the bot's clock is one a test
    moves by hand, the budget reads this instead, so the pace follows the test's time
    too: cards thirty seconds apart on that clock are not held a real second apart,
    while two sends at one instant still wait for each other in real time.
    """

    def __init__(self, clock: Clock, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._monotonic = monotonic
        self._last_real = monotonic()
        self._last_clock = clock.now()
        self._leaps = 0.0

    def __call__(self) -> float:
        real, now = self._monotonic(), self._clock.now()
        moved = (now - self._last_clock).total_seconds()
        # A clock that runs at real speed adds nothing; only a move beyond that does.
        self._leaps += max(0.0, moved - (real - self._last_real))
        self._last_real, self._last_clock = real, now
        return real + self._leaps
