"""Clocks for the budget's tests: grants are read on a clock the test moves, never timed."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from bisect import bisect_left
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from telegram.error import RetryAfter

from bot.budget.limiter import TelegramBudget
from bot.budget.shared import Budget


class HandClock:
    """Seconds on a clock the test moves; its `sleep` moves it instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def most_in_any_window(instants: list[float], period: float) -> int:
    """The most instants any half-open window [t, t + period) holds, to the microsecond."""
    ordered = sorted(round(instant * 1_000_000) for instant in instants)
    span = round(period * 1_000_000)
    return max(bisect_left(ordered, start + span) - index for index, start in enumerate(ordered))


class VirtualTime:
    """A clock for several senders at once: `sleep` waits until `run` moves the clock
    to the sleeper's instant, earliest first, once every sender is waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), woken))
        await woken

    def at(self, seconds: float, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Start `coroutine` once the clock reads `seconds` after now."""

        async def later() -> None:
            await self.sleep(seconds)
            await coroutine

        return asyncio.create_task(later())

    async def run(self, tasks: list[asyncio.Task[None]]) -> None:
        """Let the tasks run, moving the clock whenever all of them wait on it."""
        stuck = 0
        while not all(task.done() for task in tasks):
            for _ in range(20):  # the senders' locks hand over in a few loop turns
                await asyncio.sleep(0)
            if any(task.done() and task.exception() is not None for task in tasks):
                break
            if not self._sleepers:
                stuck += 1
                if stuck > 100:
                    raise AssertionError("the senders wait on something but the clock")
                continue
            stuck = 0
            at, _, woken = heapq.heappop(self._sleepers)
            self.now = max(self.now, at)
            woken.set_result(None)
        for task in tasks:
            task.result()


class Recorded:
    """A limiter whose calls, instead of reaching Telegram, note when they went.

    A chat in `refused` is answered 429 with that `retry_after`, once.
    """

    def __init__(self, budget: Budget, clock: VirtualTime) -> None:
        self.limiter = TelegramBudget(budget)
        self.clock = clock
        self.went: list[tuple[str, int | None, float]] = []
        self.refused: dict[int, int] = {}

    def call(self, endpoint: str, chat_id: int | None) -> Coroutine[Any, Any, None]:
        async def reach_telegram() -> bool:
            if chat_id in self.refused:
                raise RetryAfter(self.refused.pop(chat_id))
            self.went.append((endpoint, chat_id, round(self.clock.now, 6)))
            return True

        data: dict[str, Any] = {} if chat_id is None else {"chat_id": chat_id}

        async def call() -> None:
            await self.limiter.process_request(reach_telegram, (), {}, endpoint, data, None)

        return call()


@asynccontextmanager
async def two_sharing(
    redis_url: str, namespace: str, rate: int, workers: int = 1
) -> AsyncIterator[tuple[Budget, Budget]]:
    """Two workers' budgets on one Redis, started, closed after."""
    budgets = (
        Budget(rate, workers=workers, redis_url=redis_url, namespace=namespace),
        Budget(rate, workers=workers, redis_url=redis_url, namespace=namespace),
    )
    for budget in budgets:
        await budget.start()
    try:
        yield budgets
    finally:
        for budget in budgets:
            await budget.close()
