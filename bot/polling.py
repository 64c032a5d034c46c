"""Long polling: fetch updates from Telegram and hand them to the application's queue.

PTB's own updater is not used, for three reasons measured against it: its back-off
sleep (up to 30 s) does not notice a stop, so SIGTERM waited out the sleep; it logs
every failed poll, a 409 Conflict included, with a traceback; and one update it cannot
parse makes it fetch the same batch again forever, logging CRITICAL each time, so no
later update is handled. Here each failure kind is said once, every wait ends at once
on stop, and an update that cannot be read is logged once and skipped.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from telegram import Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError, TimedOut
from telegram.ext import ExtBot
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

# How long Telegram may hold one getUpdates call open when nothing happens.
POLL_SECONDS = 10
# On top of the poll itself, how long the answer may take to arrive.
_READ_SLACK_SECONDS = 5.0
# Waits after failed polls double from the first to the last.
FIRST_BACKOFF_SECONDS = 1.0
LONGEST_BACKOFF_SECONDS = 30.0
# The last confirmation on the way out must not hold up a stop.
_CONFIRM_SECONDS = 3.0

T = TypeVar("T")


class TokenRevoked(Exception):
    """Telegram no longer accepts the token: polling cannot go on."""


async def unless_stopped(work: Awaitable[T], stopping: asyncio.Event) -> tuple[bool, T | None]:
    """Await `work`, or cancel it as soon as `stopping` is set: (finished, its result)."""
    task = asyncio.ensure_future(work)
    stop = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
    if task.done():
        return True, task.result()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        # The work's own cancellation; ours, if any, is still pending on the task.
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
    except Exception:  # work that failed while being cancelled: nothing waits for it
        log.debug("work failed while stopping", exc_info=True)
    return False, None


def seconds_to_wait(error: RetryAfter) -> float:
    # PTB 22 warns on every read that `retry_after` will become a timedelta; either
    # form is fine here, so the notice is not worth a line in the log.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def read_update(raw: dict[str, Any], update_id: int, bot: ExtBot[Any]) -> Update | None:
    """The update in `raw`, or None (said once in the log) when PTB cannot read its shape.

    Polling and the webhook both skip such an update and go on with the next one.
    """
    try:
        update = Update.de_json(raw, bot)
    except Exception as error:  # any shape PTB cannot read: skip it, keep going
        kinds = sorted(key for key in raw if key != "update_id")
        log.warning(
            "skipped update %s (%s) of a shape this bot cannot read: %s: %s",
            update_id,
            ", ".join(kinds) or "empty",
            type(error).__name__,
            error,
        )
        return None
    if update is not None:
        bot.insert_callback_data(update)
    return update


class Poller:
    """Fetches updates until told to stop; every update it reads goes to `queue`."""

    def __init__(
        self, bot: ExtBot[Any], queue: asyncio.Queue[object], update_types: Sequence[str]
    ) -> None:
        self._bot = bot
        self._queue = queue
        self._update_types = list(update_types)
        self._offset: int | None = None
        # Updates fetched but not yet confirmed by a later call with a higher offset.
        self._unconfirmed = False
        self._trouble: str | None = None

    async def run(self, stopping: asyncio.Event) -> None:
        """Poll until `stopping` is set; then confirm what was fetched, briefly.

        Raises `TokenRevoked` when Telegram refuses the token.
        """
        backoff = 0.0
        while not stopping.is_set():
            try:
                finished, batch = await unless_stopped(self._fetch(), stopping)
            except InvalidToken as error:
                raise TokenRevoked(str(error)) from None
            except Conflict as error:
                backoff = self._longer(backoff)
                self._say_trouble(
                    "conflict",
                    "another instance is polling with this token (Telegram: %s); "
                    "retrying quietly until it stops",
                    error.message,
                )
            except RetryAfter as error:
                backoff = seconds_to_wait(error)
                self._say_trouble("flood", "Telegram asks to wait %.0f s before polling", backoff)
            except TimedOut:
                # A long poll that outlived its read timeout: ask again at once.
                backoff = 0.0
            except TelegramError as error:
                backoff = self._longer(backoff)
                self._say_trouble(
                    "network", "cannot poll Telegram (%s); retrying quietly", error.message
                )
            else:
                if not finished:
                    break
                backoff = 0.0
                self._recovered()
                await self._hand_over(batch or [])
                continue
            if backoff:
                await unless_stopped(asyncio.sleep(backoff), stopping)
        await self._confirm()

    async def _fetch(self) -> list[dict[str, Any]]:
        # The raw list, not PTB's get_updates: that parses the whole batch at once, and
        # one update it cannot read would take the others down with it. Method names
        # are case-insensitive in the Bot API; PTB warns when its own `getUpdates`
        # spelling goes through do_api_request, and here the raw result is the point.
        result = await self._bot.do_api_request(
            "getupdates",
            api_kwargs={
                "offset": self._offset,
                "timeout": POLL_SECONDS,
                "allowed_updates": self._update_types,
            },
            read_timeout=POLL_SECONDS + _READ_SLACK_SECONDS,
        )
        self._unconfirmed = False
        return list(result) if isinstance(result, list) else []

    async def _hand_over(self, batch: list[dict[str, Any]]) -> None:
        for raw in batch:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if not isinstance(update_id, int):
                log.warning("skipped an update without an update_id: %.200r", raw)
                continue
            self._offset = update_id + 1
            self._unconfirmed = True
            update = read_update(raw, update_id, self._bot)
            if update is not None:
                await self._queue.put(update)

    async def _confirm(self) -> None:
        """Tell Telegram the last updates arrived, so a restart does not get them again."""
        if not self._unconfirmed:
            return
        try:
            await asyncio.wait_for(
                self._bot.do_api_request(
                    "getupdates",
                    api_kwargs={
                        "offset": self._offset,
                        "timeout": 0,
                        "limit": 1,
                        "allowed_updates": self._update_types,
                    },
                ),
                _CONFIRM_SECONDS,
            )
        except (TelegramError, TimeoutError) as error:
            log.warning(
                "could not confirm the last updates; Telegram will resend them: %s",
                error or type(error).__name__,
            )

    @staticmethod
    def _longer(backoff: float) -> float:
        return min(LONGEST_BACKOFF_SECONDS, max(FIRST_BACKOFF_SECONDS, backoff * 2))

    def _say_trouble(self, kind: str, message: str, *args: object) -> None:
        # One line when a kind of trouble starts; the retries after it are quiet.
        if self._trouble != kind:
            self._trouble = kind
            log.warning(message, *args)
        else:
            log.debug(message, *args)

    def _recovered(self) -> None:
        if self._trouble is not None:
            log.info("polling Telegram again")
            self._trouble = None
