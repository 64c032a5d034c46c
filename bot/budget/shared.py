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
per waiting sender. A send to a chat is granted in one try against both windows, the
chat's and the overall one, and counted in both at that one instant; a sender whose
chat is not free leaves the overall queue and waits for its chat alone, so one chat's
pace never holds up a message to another chat (the partner's phone).

A 429 pauses the whole budget: the worker that got it writes the instant Telegram
allows again into Redis, and every worker's next try is told to wait until then.

A Redis that fails or does not answer in time loses no message: the worker falls back
to its fixed share at once, logs that once, and tries Redis again after a few seconds.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from bot.budget.window import SlidingWindow, pace

log = logging.getLogger(__name__)

# Telegram's documented limits besides the overall rate: 20 messages a minute in a
# group, and about one a second in any one chat (private chats: groups keep theirs).
GROUP_LIMIT = 20
GROUP_PERIOD_SECONDS = 60.0
PRIVATE_LIMIT = 1
PRIVATE_PERIOD_SECONDS = 1.0
# A Redis that failed is asked again after this long; meanwhile the local share holds.
RETRY_REDIS_SECONDS = 5.0
# A send must not wait on a Redis that hangs: past this, the local share takes over.
REDIS_TIMEOUT_SECONDS = 0.5
# Chat windows kept locally before the idle ones are dropped (as PTB's limiter does).
_MAX_LOCAL_CHATS = 512

# What a try waited on: the 429 pause, the chat's own window, or the overall pace.
Blocker = Literal["", "pause", "chat", "all"]

# KEYS: the overall window, the pause, and (optional) the chat's window. Each window is
# a list of granted instants (µs on Redis's clock), oldest first; the pause holds the
# instant Telegram allows sends again. ARGV: the overall limit and period (µs), then the
# chat's. Returns the µs to wait (0: granted now, counted in both windows), Redis's now,
# and what the wait is for.
_TRY = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function free_at(key, limit, period)
  if redis.call('LLEN', key) >= limit then
    local at = tonumber(redis.call('LINDEX', key, -limit)) + period
    if at > now then return at end
  end
  return 0
end
local function grant(key, limit, period)
  redis.call('RPUSH', key, string.format('%d', now))
  redis.call('LTRIM', key, -limit, -1)
  redis.call('PEXPIRE', key, math.floor(period / 1000) + 1000)
end
local function answer(at, blocker)
  return {string.format('%d', at - now), string.format('%d', now), blocker}
end
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return answer(paused, 'pause') end
if #KEYS == 3 then
  local at = free_at(KEYS[3], tonumber(ARGV[3]), tonumber(ARGV[4]))
  if at > 0 then return answer(at, 'chat') end
end
local at = free_at(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
if at > 0 then return answer(at, 'all') end
grant(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
if #KEYS == 3 then grant(KEYS[3], tonumber(ARGV[3]), tonumber(ARGV[4])) end
return answer(now, '')
"""

# KEYS[1]: the pause; ARGV[1]: µs from now. A longer pause already set stays. Returns
# Redis's now and the instant sends may go again.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local resume_at = now + tonumber(ARGV[1])
if resume_at > current then
  redis.call('SET', KEYS[1], string.format('%d', resume_at), 'PX',
             math.floor(tonumber(ARGV[1]) / 1000) + 1000)
  current = resume_at
end
return {string.format('%d', now), string.format('%d', current)}
"""


def _micros(seconds: float) -> int:
    # Rounded up: a period a microsecond short could let one send too many through.
    return math.ceil(seconds * 1_000_000)


@dataclass(frozen=True, slots=True)
class ChatLimit:
    """A chat's own window, besides the overall pace: `limit` sends in any `period` s."""

    chat_id: int | str
    kind: Literal["group", "private"]
    limit: int
    period: float

    @property
    def key(self) -> str:
        return f"chat:{self.chat_id}"


def group_limit(chat_id: int | str) -> ChatLimit:
    return ChatLimit(chat_id, "group", GROUP_LIMIT, GROUP_PERIOD_SECONDS)


def private_limit(chat_id: int) -> ChatLimit:
    return ChatLimit(chat_id, "private", PRIVATE_LIMIT, PRIVATE_PERIOD_SECONDS)


@dataclass(frozen=True, slots=True)
class Try:
    """One try at the windows in Redis: µs to wait (0: granted), Redis's now in µs, and
    what the wait is for."""

    wait: int
    now: int
    blocker: Blocker


class BudgetEvents(Protocol):
    """What the budget reports as it works (the application's metrics)."""

    def budget_fallback(self) -> None: ...

    def budget_redis_error(self, error: str) -> None: ...

    def budget_waited(self, window: str, seconds: float) -> None: ...

    def budget_paused(self, seconds: float) -> None: ...


class Budget:
    """The overall pace, the chats' windows and the 429 pause, shared through Redis.

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
        events: BudgetEvents | None = None,
    ) -> None:
        self.rate = rate
        self.workers = workers
        self._redis_url = redis_url
        self._namespace = namespace
        self._clock = clock
        # A test hands in a clock and a sleep that moves it, and waits for nothing.
        self._sleep = sleep
        self._events = events
        self._redis: Redis | None = None
        self._try_script: Any = None  # redis-py's Script: awaitable when the client is async
        self._pause_script: Any = None
        self._down = False
        self._retry_at = 0.0
        self._limit, self._period = pace(rate)
        # This worker's share, used without Redis and while Redis fails.
        self._overall = SlidingWindow(self._limit, self._period * workers, clock)
        self._overall_turn = asyncio.Lock()
        self._chats: dict[str, tuple[SlidingWindow, asyncio.Lock]] = {}
        # Until when this worker holds its sends (a 429 it got), on its own clock.
        self._paused_until = 0.0
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
        self._try_script = self._redis.register_script(_TRY)
        self._pause_script = self._redis.register_script(_PAUSE)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
            self._try_script = None
            self._pause_script = None

    async def acquire(self, chat: ChatLimit | None = None) -> None:
        """Return when one more message may go now: counted against the rate, and
        against `chat`'s own window when given."""
        started = self._clock()
        if chat is None:
            async with self._overall_turn:
                await self._until_granted(None, None)
        else:
            window, turn = self._chat_window(chat)
            async with turn:
                while (wait := await self._in_turn(chat, window)) > 0:
                    # Only this chat is not free: the overall queue goes on without it.
                    await self._sleep(wait)
        if self._events is not None:
            self._events.budget_waited(_window_name(chat), self._clock() - started)

    async def pause(self, seconds: float) -> None:
        """Hold every send for `seconds` (Telegram said 429): this worker's, and every
        worker's when the budget is shared."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        if self._events is not None:
            self._events.budget_paused(seconds)
        if self._pause_script is not None and self._clock() >= self._retry_at:
            try:
                await self.pause_shared(seconds)
            except (TimeoutError, OSError, RedisError) as error:
                self._redis_failed(error)

    async def wait_out_pause(self) -> None:
        """Return once this worker's pause is over (calls that are not messages)."""
        while (left := self._paused_until - self._clock()) > 0:
            await self._sleep(left)

    def _chat_window(self, chat: ChatLimit) -> tuple[SlidingWindow, asyncio.Lock]:
        entry = self._chats.get(chat.key)
        if entry is None:
            if len(self._chats) > _MAX_LOCAL_CHATS:
                self._chats = {
                    key: (window, turn)
                    for key, (window, turn) in self._chats.items()
                    if not window.idle or turn.locked()
                }
            # This worker's share: a group's 20 a minute split, a private chat's one
            # message every `workers` seconds.
            if chat.limit > 1:
                limit, period = max(1, chat.limit // self.workers), chat.period
            else:
                limit, period = chat.limit, chat.period * self.workers
            window = SlidingWindow(limit, period, self._clock)
            entry = self._chats[chat.key] = (window, asyncio.Lock())
        return entry

    async def _in_turn(self, chat: ChatLimit, window: SlidingWindow) -> float:
        """One pass through the overall queue: 0 once granted, or how long `chat` waits."""
        async with self._overall_turn:
            return await self._until_granted(chat, window)

    async def _until_granted(self, chat: ChatLimit | None, window: SlidingWindow | None) -> float:
        while True:
            wait, blocker = await self._try(chat, window)
            if wait <= 0:
                return 0.0
            if blocker == "chat":
                return wait
            # The pause or the pace says when it frees; nothing here could wake us sooner
            # (the sends that fill it may be another worker's).
            await self._sleep(wait)

    async def _try(
        self, chat: ChatLimit | None, window: SlidingWindow | None
    ) -> tuple[float, Blocker]:
        paused = self._paused_until - self._clock()
        if paused > 0:
            return paused, "pause"
        if self._try_script is not None and self._clock() >= self._retry_at:
            try:
                answer = await self.try_shared(chat)
            except (TimeoutError, OSError, RedisError) as error:
                self._redis_failed(error)
            else:
                if self._down:
                    self._down = False
                    log.warning("budget: Redis answers again; the budget is shared")
                return answer.wait / 1_000_000, answer.blocker
        if self._try_script is not None:
            self.fallbacks += 1
            if self._events is not None:
                self._events.budget_fallback()
        if window is not None and (wait := window.free_in()) > 0:
            return wait, "chat"
        if (wait := self._overall.free_in()) > 0:
            return wait, "all"
        self._overall.take()
        if window is not None:
            window.take()
        return 0.0, ""

    def _redis_failed(self, error: BaseException) -> None:
        self._retry_at = self._clock() + RETRY_REDIS_SECONDS
        if self._events is not None:
            self._events.budget_redis_error(type(error).__name__)
        if not self._down:
            self._down = True
            log.warning(
                "budget: Redis failed (%s); this worker keeps to its share of "
                "%.1f messages a second until it answers again",
                type(error).__name__,
                self.rate / self.workers,
            )

    def _key(self, name: str) -> str:
        return f"{self._namespace}:budget:{name}"

    async def try_shared(self, chat: ChatLimit | None = None) -> Try:
        """One try at the windows in Redis (the overall one, and `chat`'s when given)."""
        keys = [self._key("all"), self._key("pause")]
        args: list[int] = [self._limit, _micros(self._period)]
        if chat is not None:
            keys.append(self._key(chat.key))
            args += [chat.limit, _micros(chat.period)]
        wait, now, blocker = await self._try_script(keys=keys, args=args)
        return Try(int(wait), int(now), _blocker(blocker))

    async def pause_shared(self, seconds: float) -> tuple[int, int]:
        """Set the pause in Redis: Redis's now and the instant sends may go again (µs)."""
        now, until = await self._pause_script(keys=[self._key("pause")], args=[_micros(seconds)])
        return int(now), int(until)


def _blocker(value: bytes | str) -> Blocker:
    text = value.decode() if isinstance(value, bytes) else value
    if text in ("pause", "chat", "all"):
        return text  # type: ignore[return-value]
    return ""


def _window_name(chat: ChatLimit | None) -> str:
    return "overall" if chat is None else chat.kind
