"""The windows every worker acquires from: in Redis when REDIS_URL is set, else locally.

Why Redis, and why a fixed share without it. Telegram counts a bot's messages wherever
they come from, so N workers that each keep 30 a second send up to 30·N. A window in
Redis (one Lua script per try: read the window, grant now or say how long to wait; one
round trip of about 0.1 ms, atomic across workers, on Redis's own clock so the workers'
clocks need not agree) keeps the sum at the limit whatever the number of workers and
however the load falls between them. PostgreSQL could hold the same window, but every
message would then be a row-lock write on one hot row in the database the sessions
need. Without Redis each worker keeps a fixed share, TELEGRAM_RATE_LIMIT / WORKERS:
safe, but a worker with more to send cannot use an idle worker's share.

Within a worker the senders queue for each window (first come, first served) and only
the first asks, so a window costs a worker one try per send plus one per wait, not one
per waiting sender.

A Redis that fails or does not answer in time loses no message: the worker falls back
to its fixed share at once, logs that once, and tries Redis again after a few seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from bot.budget.window import SlidingWindow, pace

log = logging.getLogger(__name__)

# Telegram's documented limits besides the overall rate.
GROUP_LIMIT = 20
GROUP_PERIOD_SECONDS = 60.0
# A Redis that failed is asked again after this long; meanwhile the local share holds.
RETRY_REDIS_SECONDS = 5.0
# A send must not wait on a Redis that hangs: past this, the local share takes over.
REDIS_TIMEOUT_SECONDS = 0.5
# Group windows kept locally before the idle ones are dropped (as PTB's limiter does).
_MAX_LOCAL_GROUPS = 512

# KEYS[1]: the window's list of granted instants (µs on Redis's clock), oldest first.
# ARGV: the limit and the period in µs. Returns the µs to wait (0: granted now) and
# Redis's now.
_TRY = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
if redis.call('LLEN', KEYS[1]) >= limit then
  local free_at = tonumber(redis.call('LINDEX', KEYS[1], -limit)) + period
  if free_at > now then
    return {string.format('%d', free_at - now), string.format('%d', now)}
  end
end
redis.call('RPUSH', KEYS[1], string.format('%d', now))
redis.call('LTRIM', KEYS[1], -limit, -1)
redis.call('PEXPIRE', KEYS[1], math.floor(period / 1000) + 1000)
return {'0', string.format('%d', now)}
"""


def _micros(seconds: float) -> int:
    # Rounded up: a period a microsecond short could let one send too many through.
    return math.ceil(seconds * 1_000_000)


class Budget:
    """The overall pace and the per-group windows, shared through Redis when given.

    `rate` is the deployment's messages a second; `workers` how many share it when
    each keeps its own part (no Redis, or Redis failing).
    """

    def __init__(
        self,
        rate: int,
        *,
        workers: int = 1,
        redis_url: str | None = None,
        namespace: str = "pairstretch",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.workers = workers
        self._redis_url = redis_url
        self._namespace = namespace
        self._clock = clock
        # A test hands in a clock and a sleep that moves it, and waits for nothing.
        self._sleep = sleep
        self._redis: Redis | None = None
        self._script: Any = None  # redis-py's Script: awaitable when the client is async
        self._down = False
        self._retry_at = 0.0
        self._limit, self._period = pace(rate)
        # This worker's share, used without Redis and while Redis fails.
        self._overall = SlidingWindow(self._limit, self._period * workers, clock)
        self._overall_turn = asyncio.Lock()
        self._group_limit = max(1, GROUP_LIMIT // workers)
        self._groups: dict[int | str, tuple[SlidingWindow, asyncio.Lock]] = {}
        # Tries that went to the local share because Redis failed.
        self.fallbacks = 0

    @property
    def shared(self) -> bool:
        return self._redis_url is not None

    async def start(self) -> None:
        if self._redis_url is None or self._redis is not None:
            return
        # No retries inside the client: a failure goes to the local share at once.
        self._redis = Redis.from_url(
            self._redis_url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 0),
        )
        self._script = self._redis.register_script(_TRY)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
            self._script = None

    async def acquire(self) -> None:
        """Return when one more message may go now, counted against the rate."""
        async with self._overall_turn:
            await self._until_granted("all", self._limit, self._period, self._overall)

    async def acquire_group(self, chat_id: int | str) -> None:
        """Return when one more message may go now to the group `chat_id`."""
        entry = self._groups.get(chat_id)
        if entry is None:
            if len(self._groups) > _MAX_LOCAL_GROUPS:
                self._groups = {
                    key: (window, turn)
                    for key, (window, turn) in self._groups.items()
                    if not window.idle or turn.locked()
                }
            window = SlidingWindow(self._group_limit, GROUP_PERIOD_SECONDS, self._clock)
            entry = self._groups[chat_id] = (window, asyncio.Lock())
        window, turn = entry
        async with turn:
            await self._until_granted(f"chat:{chat_id}", GROUP_LIMIT, GROUP_PERIOD_SECONDS, window)

    async def _until_granted(
        self, key: str, limit: int, period: float, local: SlidingWindow
    ) -> None:
        for _ in itertools.count():
            wait = await self._try(key, limit, period, local)
            if wait <= 0:
                return
            # The window says when it frees; nothing here could wake us sooner (the
            # sends that fill it may be another worker's).
            await self._sleep(wait)

    async def _try(self, key: str, limit: int, period: float, local: SlidingWindow) -> float:
        if self._script is not None and self._clock() >= self._retry_at:
            try:
                wait, _ = await self.try_shared(key, limit, period)
            except (TimeoutError, OSError, RedisError) as error:
                self._retry_at = self._clock() + RETRY_REDIS_SECONDS
                if not self._down:
                    self._down = True
                    log.warning(
                        "budget: Redis failed (%s); this worker keeps to its share of "
                        "%.1f messages a second until it answers again",
                        type(error).__name__,
                        self.rate / self.workers,
                    )
            else:
                if self._down:
                    self._down = False
                    log.warning("budget: Redis answers again; the budget is shared")
                return wait / 1_000_000
        if self._script is not None:
            self.fallbacks += 1
        return local.try_acquire()

    async def try_shared(self, key: str, limit: int, period: float) -> tuple[int, int]:
        """One try at the window in Redis: µs to wait (0: granted), and Redis's now in µs."""
        answer = await self._script(
            keys=[f"{self._namespace}:budget:{key}"], args=[limit, _micros(period)]
        )
        wait, now = (int(value) for value in answer)
        return wait, now
