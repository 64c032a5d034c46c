"""Telling partners that a pair ended because the other partner asked to be forgotten.

Each notice is a former partnership whose `told_at` is still empty. They are sent right
after the erasure, and a job retries the ones Telegram did not accept (a timeout, a
5xx), so a notice is never lost to a failed request.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.ext import Application, Job, JobQueue

from bot.context import BotData, Context
from bot.delivery import send_private
from bot.render import history as render
from bot.services import history as service
from bot.services import users

log = logging.getLogger(__name__)

JOB_NAME = "former-partner-notices"
RETRY_EVERY = timedelta(minutes=1)
BATCH = 50


async def tell_former_partners(bot: Bot, data: BotData) -> int:
    """Send every notice still owed; the number Telegram accepted or could not route."""
    done = 0
    for partnership in await service.untold_partners(data, BATCH):
        try:
            sent = await send_private(bot, partnership.owner_id, render.told_partner_forgotten())
        except Exception as error:  # kept untold: the job sends it again
            log.warning("notice for former partnership %s failed: %r", partnership.id, error)
            continue
        if sent is None:
            # Blocked, or never opened the chat: Telegram will not take it later either.
            log.info("former partnership %s: the partner cannot be reached", partnership.id)
            await users.mark_unreachable(data, partnership.owner_id)
        await service.mark_told(data, partnership.id, data.clock.now())
        done += 1
    return done


async def _run(context: Context) -> None:
    await tell_former_partners(context.bot, context.bot_data)


def start(app: Application[Any, Any, Any, Any, BotData, JobQueue[Any]]) -> Job[Any]:
    """Schedule the retry job; its first run, a minute after start-up, sends what a stop
    left owed."""
    if app.job_queue is None:
        raise RuntimeError("the job queue is missing: install python-telegram-bot[job-queue]")
    return app.job_queue.run_repeating(
        _run, interval=RETRY_EVERY, first=RETRY_EVERY, name=JOB_NAME
    )


def notices_job(app: Application[Any, Any, Any, Any, Any, JobQueue[Any]]) -> Job[Any]:
    """The retry job, for tests that run it by hand."""
    assert app.job_queue is not None
    [job] = app.job_queue.get_jobs_by_name(JOB_NAME)
    return job
