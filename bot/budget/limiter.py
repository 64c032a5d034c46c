"""PTB's rate limiter hook: every message waits for its place in the deployment's budget."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.budget.shared import Budget

log = logging.getLogger(__name__)

JSONish = bool | dict[str, Any] | list[dict[str, Any]]


class TelegramBudget(BaseRateLimiter[int]):
    """Every call to a chat waits for its place in the budget; a 429 is retried.

    As PTB's AIORateLimiter: calls without a chat (answering a tap, getMe) are not
    counted; a group's calls also take a place in that group's 20-a-minute window; a
    429 pauses this worker's calls for the `retry_after` Telegram asks, then the call is
    tried again (`max_retries` times). Unlike it, the limit holds in every one-second
    window, and across workers when the budget is shared.
    """

    def __init__(self, budget: Budget, max_retries: int = 3) -> None:
        self.budget = budget
        self._max_retries = max_retries
        self._not_paused = asyncio.Event()
        self._not_paused.set()

    async def initialize(self) -> None:
        await self.budget.start()

    async def shutdown(self) -> None:
        await self.budget.close()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONish]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSONish:
        max_retries = rate_limit_args or self._max_retries
        chat_id: Any = data.get("chat_id")
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)
        group = (isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str)
        for attempt in range(max_retries + 1):
            await self._not_paused.wait()
            if group:
                await self.budget.acquire_group(chat_id)
            if chat_id is not None:
                await self.budget.acquire()
            await self._not_paused.wait()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt == max_retries:
                    log.warning("%s: still 429 after %d retries", endpoint, max_retries)
                    raise
                wait = _seconds(error.retry_after) + 0.1
                log.info("%s: 429, trying again after %.1f s", endpoint, wait)
                self._not_paused.clear()
                try:
                    await asyncio.sleep(wait)
                finally:
                    self._not_paused.set()
        raise AssertionError("unreachable: the last attempt returns or raises")


def _seconds(value: Any) -> float:
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)
