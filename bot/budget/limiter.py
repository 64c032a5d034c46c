"""PTB's rate limiter hook: every message waits for its place in the deployment's budget."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.budget.shared import Budget, ChatLimit, group_limit, private_limit

log = logging.getLogger(__name__)

JSONish = bool | dict[str, Any] | list[dict[str, Any]]

# Calls that put a new message into a chat besides the send* family. What Telegram paces
# at about one a second per chat is messages: an edit, a delete or the answer to a tap
# puts none there, so a step's new card, the delete of the one before and the tap's
# answer are one message to that chat, not three.
_ALSO_MESSAGES = frozenset({"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"})


def sends_a_message(endpoint: str) -> bool:
    """Whether a Bot API call adds a message to its chat (sendChatAction adds none)."""
    if endpoint.startswith("send"):
        return endpoint != "sendChatAction"
    return endpoint in _ALSO_MESSAGES


def chat_limit_of(endpoint: str, chat_id: object) -> ChatLimit | None:
    """The chat window a call takes its place in, besides the overall pace.

    A group's 20 a minute counts every call to it, as PTB's limiter does; a private
    chat's one a second counts only the calls that add a message.
    """
    if isinstance(chat_id, str) or (isinstance(chat_id, int) and chat_id < 0):
        return group_limit(chat_id)
    if isinstance(chat_id, int) and sends_a_message(endpoint):
        return private_limit(chat_id)
    return None


class TelegramBudget(BaseRateLimiter[int]):
    """Every call to a chat waits for its place in the budget; a 429 is retried.

    As PTB's AIORateLimiter: calls without a chat (answering a tap, getMe) are not
    counted; a group's calls also take a place in that group's 20-a-minute window. A
    message to a private chat also takes that chat's one a second. A 429 pauses the
    budget (every worker's messages when shared) for the `retry_after` Telegram asks,
    then the call is tried again (`max_retries` times). Unlike PTB's, the limit holds in
    every one-second window, and across workers when the budget is shared.
    """

    def __init__(self, budget: Budget, max_retries: int = 3) -> None:
        self.budget = budget
        self._max_retries = max_retries

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
        chat = chat_limit_of(endpoint, chat_id)
        for attempt in range(max_retries + 1):
            if chat_id is None:
                await self.budget.wait_out_pause()
            else:
                await self.budget.acquire(chat)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt == max_retries:
                    log.warning("%s: still 429 after %d retries", endpoint, max_retries)
                    raise
                wait = _seconds(error.retry_after) + 0.1
                log.info("%s: 429, every send waits %.1f s", endpoint, wait)
                await self.budget.pause(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")


def _seconds(value: Any) -> float:
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)
