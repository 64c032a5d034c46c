"""A limit that holds in every window: at most `limit` sends in any `period` seconds.

A reservation, not a permit: each caller is handed the instant its send may go and
waits until then itself, so callers are served in the order they asked and nothing
polls. The instant is the later of now and `period` after the `limit`-th last
reservation; so the reservations never decrease and any `limit` + 1 in a row span at
least `period`: no half-open window of `period` seconds holds more than `limit`.

With `limit=1, period=1/rate` this is an even pace (one send every 1/rate s, never a
burst). A token bucket of the same rate (aiolimiter's, in PTB's AIORateLimiter) lets a
full bucket go at once and then the rate, which is twice the limit in the first second:
the "1,000 messages/s" paid tier let about 2,000 through (issue 15).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    """Reservations for one process, on a monotonic clock (a test hands in its own)."""

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
        self._slots: deque[int] = deque(maxlen=limit)

    def reserve(self) -> float:
        """Reserve the next free instant; the seconds to wait for it (0 when free now)."""
        now = self._clock()
        slot = math.ceil(now * 1_000_000)
        if len(self._slots) == self.limit:
            slot = max(slot, self._slots[0] + self._period_us)
        self._slots.append(slot)
        return max(0.0, slot / 1_000_000 - now)

    @property
    def idle(self) -> bool:
        """Nothing reserved inside the last period: the window may be dropped."""
        last = self._slots[-1] if self._slots else None
        return last is None or last + self._period_us <= self._clock() * 1_000_000
