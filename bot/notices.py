"""One-off private notices (a partnership ended) that a passing failure must not lose.

A notice Telegram did not take (a 500, a timeout, a dropped connection, a 429 past the
rate limiter's retries) is tried again after 5 s, 10 s, 20 s ... at most 5 minutes
apart, about an hour in all. The retries live in this process's job queue: a restart
meanwhile loses the notice (the partner finds the pair gone at their next command).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot
from telegram.ext import JobQueue

from bot.clock import Clock
from bot.context import Context
from bot.delivery import Undelivered, offer_private

RETRY_FIRST = timedelta(seconds=5)
RETRY_LONGEST = timedelta(minutes=5)
RETRY_ATTEMPTS = 16
# Late is better than APScheduler's default of dropping a run a second late.
MISFIRE_GRACE_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class PendingNotice:
    """A notice to try again; `due_at` is on the bot's clock (tests move it)."""

    user_id: int
    text: str
    attempt: int
    due_at: datetime


async def tell(
    bot: Bot, jobs: JobQueue[Any], clock: Clock, user_id: int, text: str, attempt: int = 0
) -> None:
    """Send `text` to `user_id` in private; set a retry if Telegram did not take it."""
    outcome = await offer_private(bot, user_id, text)
    if outcome is not Undelivered.TRY_AGAIN or attempt >= RETRY_ATTEMPTS:
        return  # sent, or the person cannot be reached (trying again would not help)
    due_at = clock.now() + min(RETRY_FIRST * 2**attempt, RETRY_LONGEST)
    jobs.run_once(
        _retry,
        max(0.0, (due_at - clock.now()).total_seconds()),
        data=PendingNotice(user_id, text, attempt, due_at),
        name=f"notice-{user_id}",
        job_kwargs={"misfire_grace_time": MISFIRE_GRACE_SECONDS},
    )


async def _retry(context: Context) -> None:
    assert context.job is not None and context.job_queue is not None
    notice = context.job.data
    assert isinstance(notice, PendingNotice)
    await tell(
        context.bot,
        context.job_queue,
        context.bot_data.clock,
        notice.user_id,
        notice.text,
        notice.attempt + 1,
    )
