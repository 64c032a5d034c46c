"""The windows every worker reserves from: in Redis when REDIS_URL is set, else locally.

Why Redis, and why a fixed share without it. Telegram counts a bot's messages wherever
they come from, so N workers that each keep 30 a second send up to 30·N. A reservation
in Redis (one Lua script: read the window, append the instant, one round trip of about
0.1 ms, atomic across workers, on Redis's own clock so the workers' clocks need not
agree) keeps the sum at the limit whatever the number of workers and however the load
falls between them. PostgreSQL could hold the same window, but every message would
then be a row-lock write on one hot row in the database the sessions need. Without
Redis each worker keeps a fixed share, TELEGRAM_RATE_LIMIT / WORKERS: safe, but a
worker with more to send cannot use an idle worker's share.

A Redis that fails or does not answer in time loses no message: the worker falls back
to its fixed share at once, logs that once, and tries Redis again after a few seconds.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from bot.budget.window import SlidingWindow

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

# KEYS[1]: the window's list of reserved instants (µs on Redis's clock), oldest first.
# ARGV: the limit and the period in µs. Returns the reserved instant and Redis's now.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local slot = now
if redis.call('LLEN', KEYS[1]) >= limit then
  local oldest = tonumber(redis.call('LINDEX', KEYS[1], -limit))
  if oldest + period > slot then slot = oldest + period end
end
redis.call('RPUSH', KEYS[1], string.format('%d', slot))
redis.call('LTRIM', KEYS[1], -limit, -1)
redis.call('PEXPIRE', KEYS[1], math.floor((slot - now + period) / 1000) + 1000)
return {string.format('%d', slot), string.format('%d', now)}
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
        rate: float,
        *,
        workers: int = 1,
        redis_url: str | None = None,
        namespace: str = "pairstretch",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.workers = workers
        self._redis_url = redis_url
        self._namespace = namespace
        self._clock = clock
        self._redis: Redis | None = None
        self._script: Any = None  # redis-py's Script: awaitable when the client is async
        self._down = False
        self._retry_at = 0.0
        # This worker's share, used without Redis and while Redis fails.
        self._overall = SlidingWindow(1, workers / rate, clock)
        self._group_limit = max(1, GROUP_LIMIT // workers)
        self._groups: dict[int | str, SlidingWindow] = {}
        # Reservations that went to the local share because Redis failed.
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
        self._script = self._redis.register_script(_RESERVE)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def overall(self) -> float:
        """Seconds to wait before one more message may go, counted against the rate."""
        return await self._reserve("all", 1, 1 / self.rate, self._overall)

    async def group(self, chat_id: int | str) -> float:
        """Seconds to wait before one more message may go to the group `chat_id`."""
        local = self._groups.get(chat_id)
        if local is None:
            if len(self._groups) > _MAX_LOCAL_GROUPS:
                self._groups = {k: w for k, w in self._groups.items() if not w.idle}
            local = SlidingWindow(self._group_limit, GROUP_PERIOD_SECONDS, self._clock)
            self._groups[chat_id] = local
        return await self._reserve(f"chat:{chat_id}", GROUP_LIMIT, GROUP_PERIOD_SECONDS, local)

    async def _reserve(self, key: str, limit: int, period: float, local: SlidingWindow) -> float:
        if self._script is not None and self._clock() >= self._retry_at:
            try:
                slot, now = await self.reserve_shared(key, limit, period)
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
                return max(0.0, (slot - now) / 1_000_000)
        if self._script is not None:
            self.fallbacks += 1
        return local.reserve()

    async def reserve_shared(self, key: str, limit: int, period: float) -> tuple[int, int]:
        """One reservation in Redis: the reserved instant and Redis's now, in µs."""
        answer = await self._script(
            keys=[f"{self._namespace}:budget:{key}"], args=[limit, _micros(period)]
        )
        slot, now = (int(value) for value in answer)
        return slot, now
