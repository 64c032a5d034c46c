"""`python -m bot`: check the settings, then run the bot: long polling, or a webhook."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Coroutine
from typing import Any

from telegram.error import TelegramError

from bot import redaction
from bot.app import build_application
from bot.config import Settings, SettingsError, listen_address, load_settings
from bot.context import BotApplication
from bot.failures import (
    EXIT_BAD_SETTINGS,
    EXIT_CANNOT_RUN,
    OneLineFailure,
    cannot_listen,
    database_failure,
    telegram_failure,
    token_revoked,
    webhook_refused,
)
from bot.listener import Listener, bind
from bot.polling import Poller, TokenRevoked, unless_stopped
from bot.update_types import handled_update_types
from bot.webhook import WebhookRefused, register_webhook, webhook_app
from storage.unusable import DatabaseUnusable

log = logging.getLogger(__name__)

# After SIGTERM, how long updates already taken may go on being handled. With the
# listener's second to close connections and the database's to close, the process is
# gone within 10 s of the signal.
DRAIN_SECONDS = 7.5


def configure_logging(settings: Settings, redact: redaction.Redactor) -> None:
    redaction.install(settings.log_level, redact, json_lines=settings.log_format == "json")
    # httpx logs every request URL, and the URL carries the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Alembic's notes on every start would come before a one-line failure on stderr.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # uvicorn's start and stop notes; the bot says what it listens on itself.
    logging.getLogger("uvicorn").setLevel(logging.WARNING)
    # PTB logs the full API URL, token included, when a bot is set up at DEBUG level.
    for name in ("telegram.Bot", "telegram.ext.ExtBot"):
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLogger().level))


async def _start(app: BotApplication, *, polling: bool = True) -> None:
    """What PTB's run_polling does before polling, each failure turned into one line."""
    settings = app.bot_data.settings
    try:
        await app.initialize()  # getMe: is the token good, is the Bot API there?
        if polling:
            # A webhook left set by an earlier deployment would make every poll a 409.
            await app.bot.delete_webhook()
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
    except TelegramError as error:
        raise telegram_failure(error, settings) from None
    except DatabaseUnusable as problem:
        raise database_failure(problem) from None


async def _stop(app: BotApplication) -> None:
    """In PTB's order: handle what was fetched, then close Telegram and the database.

    Handling what is in hand may take DRAIN_SECONDS; a handler still waiting then is
    given up (its session's state was saved before it talked to Telegram, see
    ARCHITECTURE.md, so a restart carries its effects out).
    """
    if app.running:
        scheduler = app.job_queue.scheduler if app.job_queue is not None else None
        if scheduler is not None and scheduler.running:
            # No job starts once stopping began. PTB waits for the jobs running, then shuts
            # APScheduler down, which cancels any job it started in between (logged with a
            # traceback); another worker, or the next start, carries out what comes due.
            scheduler.pause()
        try:
            async with asyncio.timeout(DRAIN_SECONDS):
                await app.stop()
        except TimeoutError:
            log.warning("gave up waiting for updates in hand after %.1f s", DRAIN_SECONDS)
    await app.shutdown()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)


def settle_heap() -> None:
    """Once started: what start-up built (modules, routines, PTB's and SQLAlchemy's objects)
    lives as long as the process. Frozen out of the collector's sight, a full collection
    walks only what handling updates made since: on a bot that rendered charts, the full
    pass over everything stalled the event loop 130 ms (tests/bench/bench_progress.py)."""
    gc.collect()
    gc.freeze()


async def serve(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM; either one ends every wait at once, back-off included."""
    app = build_application(settings)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        if settings.webhook_url:
            await _serve_webhook(app, settings, stopping)
            return
        started, _ = await unless_stopped(_start(app), stopping)
        if started:
            settle_heap()
            poller = Poller(app.bot, app.update_queue, handled_update_types(app))
            await poller.run(stopping)
    except TokenRevoked as error:
        raise token_revoked(str(error)) from None
    finally:
        await _stop(app)


async def _serve_webhook(app: BotApplication, settings: Settings, stopping: asyncio.Event) -> None:
    """Listen, start, register the webhook, and serve until told to stop.

    On stop the listener closes first, so no update is taken that nobody would
    handle; the webhook stays registered for the other workers and the next start.
    """
    try:
        sock = bind(*listen_address(settings.webhook_listen))
    except OSError as error:
        raise cannot_listen(settings, error) from None
    listener = Listener(webhook_app(app, settings), sock)
    try:
        started, _ = await unless_stopped(_start(app, polling=False), stopping)
        if not started:
            return
        settle_heap()
        await listener.start()
        registered, _ = await unless_stopped(register_webhook(app, settings), stopping)
        if registered:
            log.info("webhook: listening on %s for %s", listener.address, settings.webhook_url)
            await stopping.wait()
    except WebhookRefused as refused:
        raise webhook_refused(refused.error, settings) from None
    finally:
        await listener.stop()


def _run(work: Coroutine[Any, Any, None]) -> None:
    """On uvloop when it is installed (the `fast` extra; see README, Benchmarks), which
    takes a tenth off a tap on PostgreSQL; on asyncio's own loop otherwise."""
    try:
        import uvloop  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        uvloop = None
    # Outside the `except`: a traceback from the bot must not carry the ImportError along.
    if uvloop is None:
        asyncio.run(work)
    else:
        uvloop.run(work)


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"pairstretch: {error}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    redact = redaction.Redactor(settings.telegram_bot_token.get_secret_value())
    configure_logging(settings, redact)
    try:
        _run(serve(settings))
    except OneLineFailure as failure:
        print(f"pairstretch: {redact(str(failure))}", file=sys.stderr)
        return failure.status
    except Exception:
        # A bug, not a setting: the traceback helps, and the formatter keeps the token out.
        log.critical("stopped by an unexpected error", exc_info=True)
        return EXIT_CANNOT_RUN
    return 0
