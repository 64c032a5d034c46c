"""Where the bot reads the time: one object, so tests can move it by hand."""

from __future__ import annotations

import asyncio
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
    """Seconds for the budget where the bot's clock is one a test moves by hand.

    Telegram's budget paces sends in seconds of its own. Here those seconds follow real
    time, leap ahead whenever the test moves its clock on, and leap again by whatever the
    budget waits (`sleep` moves them instead of waiting): the grants are spaced as they
    would be, and cards thirty seconds apart on the test's clock, or two at one instant,
    are not held a real second apart.
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

    async def sleep(self, seconds: float) -> None:
        self._leaps += max(0.0, seconds)
        # Still a turn of the event loop, as a real wait would give the other senders.
        await asyncio.sleep(0)
