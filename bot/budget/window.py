"""A limit that holds in every window: at most `limit` sends in any `period` seconds.

A send is granted at the instant it asks, if the window allows it then; otherwise it is
told how long until it would, and asks again after that (one asker at a time per
window, see `bot.budget.shared`). The instants kept are the ones granted, which are the
instants the sends go: a sender that wakes late sends late and is counted late, so a
late one never lets more than `limit` into a window. Any `limit` + 1 grants in a row span at least
`period`: no half-open window of `period` seconds holds more than `limit`.

The bot's pace is such a window over a tenth of a second (`pace`). A token bucket of
the same rate (aiolimiter's, in PTB's AIORateLimiter) lets a full bucket go at once and
then the rate, which is twice the limit in the first second: the "1,000 messages/s" paid
tier let about 2,000 through (issue 15).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


def pace(rate: int) -> tuple[int, float]:
    """The window that sends `rate` a second about evenly and keeps up when woken late.

    A tenth of the rate in any tenth of a second: 3 per 100 ms at 30 a second, never a
    burst of 30. A window of one (one send every 1/rate s) would lose the time a sender
    wakes late on every gap: measured at 23 a second for 30 on a busy 2-core machine.
    `limit` is a divisor of the rate, so whole windows tile a second and no second holds
    more than `rate`; a rate without one (a prime such as 31) goes one at a time.
    """
    most = max(1, rate // 10)
    limit = max(d for d in range(1, most + 1) if rate % d == 0)
    return limit, limit / rate


class SlidingWindow:
    """Grants for one process, on a monotonic clock (a test hands in its own)."""

    def __init__(
        self, limit: int, period: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("a window needs a limit of at least 1 and a positive period")
        self.limit = limit
        self.period = period
        self._clock = clock
        # Whole microseconds, the period rounded up: 30 sums of a float 1/30 come to a
        # hair under one second, which would let a 31st send into it.
        self._period_us = math.ceil(period * 1_000_000)
        self._granted: deque[int] = deque(maxlen=limit)

    def try_acquire(self) -> float:
        """0 if a send may go now (and it is counted); else the seconds until one may."""
        wait = self.free_in()
        if wait <= 0:
            self.take()
        return wait

    def free_in(self) -> float:
        """0 if a send may go now, else the seconds until one may; nothing is counted."""
        now = math.ceil(self._clock() * 1_000_000)
        if len(self._granted) == self.limit:
            free_at = self._granted[0] + self._period_us
            if free_at > now:
                return (free_at - now) / 1_000_000
        return 0.0

    def take(self) -> None:
        """Count a send now: call it only right after `free_in` said 0, on the same clock
        reading, so a send counted with another window is counted in both at one instant."""
        self._granted.append(math.ceil(self._clock() * 1_000_000))

    @property
    def idle(self) -> bool:
        """Nothing granted inside the last period: the window may be dropped."""
        last = self._granted[-1] if self._granted else None
        return last is None or last + self._period_us <= self._clock() * 1_000_000
