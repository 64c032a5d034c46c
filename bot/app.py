"""The composition root: every handler and resource of the bot is wired here."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import (
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    LinkPreviewOptions,
)
from telegram.constants import ParseMode
from telegram.ext import ApplicationBuilder, BaseRateLimiter, ContextTypes, Defaults
from telegram.request import BaseRequest, HTTPXRequest

from bot import reminder_dispatch, timer_poller
from bot.budget.limiter import TelegramBudget
from bot.budget.shared import Budget, BudgetEvents
from bot.clock import Clock, SecondsFollowing, SystemClock
from bot.config import Settings
from bot.context import BotApplication, BotData
from bot.errors import on_error
from bot.handlers import (
    basics,
    fallbacks,
    history,
    pairing,
    reminders,
    sessions,
    timezones,
)
from bot.handlers import routines as routine_previews
from bot.handlers import settings as pair_settings
from bot.metered import MeteredRequest, MeteredUpdates
from bot.metrics import Metrics
from bot.render.basics import GROUP_COMMANDS, PRIVATE_COMMANDS, menu
from bot.services import timer_claims
from bot.session_flow import SessionFlow
from routines.loader import load_library
from storage.db import Database

log = logging.getLogger(__name__)


async def _post_init(app: BotApplication) -> None:
    data = app.bot_data
    data.bot_username = app.bot.username
    database = Database.connect(data.settings.database_url)
    # Held before migrating, so post_shutdown closes it even when migrating fails.
    data.db = database
    await database.migrate()
    assert app.job_queue is not None
    poller = timer_poller.install(app)
    await SessionFlow(app.bot, data).recover()
    # What came due while no worker ran (or what a dead one held, on SQLite) is carried
    # out before the first update is taken.
    await poller.poll()
    timer_poller.start(app, poller)
    reminder_dispatch.start(app)
    await app.bot.set_my_commands(menu(PRIVATE_COMMANDS), scope=BotCommandScopeAllPrivateChats())
    await app.bot.set_my_commands(menu(GROUP_COMMANDS), scope=BotCommandScopeAllGroupChats())
    log.info("ready as @%s on %s", data.bot_username, database.dialect)


async def _post_shutdown(app: BotApplication) -> None:
    data = app.bot_data
    await asyncio.to_thread(data.charts.close)
    if data._database is not None:
        # The poller is installed once the database is migrated: before that this worker
        # claimed nothing, and a database that failed at start-up has said so in one line.
        if data.timer_waker is not None:
            try:
                # Another worker takes over what this one held now, not after the lease.
                await timer_claims.release_mine(data)
            except Exception as error:  # the database went away while running
                log.warning("could not release this worker's timer claims: %r", error)
        await data._database.dispose()
        data.db = None


def telegram_budget(
    settings: Settings,
    *,
    events: BudgetEvents | None = None,
    seconds: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> TelegramBudget:
    """Telegram's ~30 messages a second for the whole deployment, about evenly.

    At most a tenth of TELEGRAM_RATE_LIMIT in any tenth of a second over all workers
    (shared in Redis when REDIS_URL is set, else this worker's share of WORKERS), so no
    one-second window ever holds more; PTB's bucket let 30 go at once and then 30 a
    second, 59 in one second. A private chat gets one message a second. A 429 holds
    every send for the `retry_after` Telegram asks for, then the call is tried again.
    """
    bot_id = settings.telegram_bot_token.get_secret_value().split(":", 1)[0]
    budget = Budget(
        settings.telegram_rate_limit,
        workers=settings.workers,
        redis_url=settings.redis_url,
        # Per bot: two bots on one Redis have a budget each; the id is public.
        namespace=f"pairstretch:{bot_id}",
        clock=seconds,
        sleep=sleep,
        events=events,
    )
    return TelegramBudget(budget, max_retries=3)


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    clock: Clock | None = None,
    rate_limiter: BaseRateLimiter[Any] | None = None,
) -> BotApplication:
    """Build the bot; tests hand in a fake Bot API as `request` and a hand-moved clock.

    The default rate limiter keeps to Telegram's published limits and retries a 429
    after the `retry_after` Telegram asks for; benchmarks pass their own. Every update
    and every Bot API call is counted in the application's own metrics.
    """
    metrics = Metrics()
    if clock is None:
        budget = telegram_budget(settings, events=metrics)
    else:
        # A test's hand-moved clock: the budget's seconds follow it (see SecondsFollowing).
        seconds = SecondsFollowing(clock)
        budget = telegram_budget(settings, events=metrics, seconds=seconds, sleep=seconds.sleep)
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_base_url)
        .context_types(ContextTypes(bot_data=BotData))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .rate_limiter(rate_limiter or budget)
        # Taps of different pairs need not wait for each other: while one waits on the
        # database or Telegram, the next is handled. Each session's own order is kept by
        # its compare-and-set, not by the update queue.
        .concurrent_updates(MeteredUpdates(32, metrics))
        # PTB's own default request (httpx, 256 connections), counted per call.
        .request(MeteredRequest(request or HTTPXRequest(), metrics))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        # bot/polling.py fetches the updates: PTB's updater cannot be stopped during
        # its back-off and cannot skip an update it fails to read.
        .updater(None)
    )
    if request is not None:
        builder = builder.get_updates_request(request)
    app: BotApplication = builder.build()  # type: ignore[assignment]
    app.bot_data.settings = settings
    app.bot_data.metrics = metrics
    app.bot_data.clock = clock or SystemClock()
    app.bot_data.library = load_library()

    # Each handler module registers its own commands and buttons. PTB hands an update to
    # the first handler that matches, so the catch-alls of `fallbacks` come last.
    basics.register(app)
    sessions.register(app)
    pairing.register(app)
    timezones.register(app)
    reminders.register(app)
    history.register(app)
    pair_settings.register(app)
    routine_previews.register(app)
    fallbacks.register(app)
    app.add_error_handler(on_error)
    return app
