"""The two places every update and every Bot API call pass through, counted on the way.

`MeteredUpdates` is the application's update processor (PTB's extension point for
`concurrent_updates`): it bounds concurrency as before, times each update's handling and
tags the log lines of that handling with its update id. `MeteredRequest` wraps the
request object the bot talks to Telegram with, below the rate limiter, so every try of
a call (a retried 429 too) is counted with what Telegram answered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.error import TimedOut
from telegram.ext import BaseUpdateProcessor
from telegram.request import BaseRequest, RequestData

from bot.json_logs import handling_update
from bot.metrics import Metrics


def kind_of(update: object) -> str:
    """The update's type as Telegram names it (`message`, `callback_query`, ...)."""
    if isinstance(update, Update):
        for kind in Update.ALL_TYPES:
            if getattr(update, kind, None) is not None:
                return str(kind)
    return "other"


class MeteredUpdates(BaseUpdateProcessor):
    """At most `max_concurrent_updates` at once; each one timed, by kind."""

    def __init__(self, max_concurrent_updates: int, metrics: Metrics) -> None:
        super().__init__(max_concurrent_updates)
        self._metrics = metrics

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        started = time.perf_counter()
        try:
            with handling_update(update_id):
                await coroutine
        finally:
            self._metrics.handled(kind_of(update), time.perf_counter() - started)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


class MeteredRequest(BaseRequest):
    """Any `BaseRequest` (httpx in production, the fake Bot API in tests), counted."""

    def __init__(self, inner: BaseRequest, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    @property
    def read_timeout(self) -> float | None:
        return self._inner.read_timeout

    async def initialize(self) -> None:
        await self._inner.initialize()

    async def shutdown(self) -> None:
        await self._inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        # The URL carries the token; only its last part, the method, becomes a label.
        api_method = url.rsplit("/", 1)[-1]
        try:
            status, body = await self._inner.do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        except TimedOut:
            self._metrics.api_call(api_method, "timeout")
            raise
        except Exception:
            self._metrics.api_call(api_method, "network")
            raise
        self._metrics.api_call(api_method, "ok" if status == 200 else str(status))
        if status == 429:
            self._metrics.told_to_wait(api_method, _retry_after(body))
        return status, body


def _retry_after(body: bytes) -> float:
    try:
        value = json.loads(body)["parameters"]["retry_after"]
    except (ValueError, KeyError, TypeError):
        return 0.0
    return float(value) if isinstance(value, int | float) else 0.0
