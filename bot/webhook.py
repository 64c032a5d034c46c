"""Webhook mode: what Telegram posts to, and what operators ask (/healthz, /metrics).

One ASGI application (Starlette) serves all three on `WEBHOOK_LISTEN`. A post to the
webhook path is checked against the secret before anything else, the body unread;
an accepted update goes on the application's update queue and is answered 200 at
once, and the application handles it with its own bounded concurrency.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.config import Settings
from bot.context import BotApplication
from bot.metrics import CONTENT_TYPE
from bot.polling import (
    FIRST_BACKOFF_SECONDS,
    LONGEST_BACKOFF_SECONDS,
    read_update,
    seconds_to_wait,
)
from bot.update_types import handled_update_types
from storage.db import Database
from storage.health import database_answers, live_sessions

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# A scrape must not hang on a database that stopped answering.
_SCRAPE_QUERY_SECONDS = 2.0


class Endpoints:
    """The three routes, bound to one running application."""

    def __init__(self, app: BotApplication, settings: Settings) -> None:
        self._app = app
        secret = settings.webhook_secret
        self._secret = secret.get_secret_value().encode() if secret is not None else None
        self._healthy: bool | None = None

    def _database(self) -> Database | None:
        try:
            return self._app.bot_data.db
        except RuntimeError:  # not open yet, or closed already
            return None

    async def receive(self, request: Request) -> Response:
        """An update from Telegram: 403 unless it carries the secret, else 200 at once."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        metrics = self._app.bot_data.metrics
        # Compared in constant time, and before the body is read: a stranger's post
        # costs nothing but its headers.
        if self._secret is None or not hmac.compare_digest(given, self._secret):
            metrics.webhook_requests.labels("forbidden").inc()
            return Response(status_code=403)
        if not self._app.running:
            # Stopping: Telegram keeps the update and posts it again, to this or
            # another worker, instead of it being queued where nobody takes it.
            return Response(status_code=503)
        try:
            raw: Any = await request.json()
        except ValueError:
            raw = None
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        if not isinstance(raw, dict) or not isinstance(update_id, int):
            metrics.webhook_requests.labels("unreadable").inc()
            return Response(status_code=400)
        update = read_update(raw, update_id, self._app.bot)
        if update is None:
            # Acknowledged all the same: Telegram would post it again forever.
            metrics.webhook_requests.labels("unreadable").inc()
            return Response(status_code=200)
        await self._app.update_queue.put(update)
        metrics.webhook_requests.labels("accepted").inc()
        return Response(status_code=200)

    async def healthz(self, _: Request) -> Response:
        """200 when the application runs and the database answers; 503 otherwise."""
        running = self._app.running
        database = self._database()
        answers = database is not None and await database_answers(database)
        healthy = running and answers
        reason = "" if healthy else ("database" if running else "application")
        if healthy != self._healthy:  # said once per change, not on every probe
            self._healthy = healthy
            if healthy:
                log.info("health: ok")
            else:
                log.warning("health: unavailable (%s)", reason)
        if healthy:
            return PlainTextResponse("ok\n")
        return PlainTextResponse(f"unavailable: {reason}\n", status_code=503)

    async def metrics(self, _: Request) -> Response:
        """Prometheus text; the live sessions are counted in the database right now."""
        metrics = self._app.bot_data.metrics
        database = self._database()
        try:
            if database is None:
                raise RuntimeError("the database is not open")
            async with asyncio.timeout(_SCRAPE_QUERY_SECONDS):
                count: float = await live_sessions(database)
        except Exception as error:  # an unknown count is NaN, not the last one seen
            log.debug("could not count live sessions: %r", error)
            count = float("nan")
        metrics.live_sessions.set(count)
        return Response(metrics.render(), media_type=CONTENT_TYPE)


def webhook_app(app: BotApplication, settings: Settings) -> Starlette:
    """The ASGI application of webhook mode, for `bot.listener`."""
    endpoints = Endpoints(app, settings)
    return Starlette(
        routes=[
            Route(settings.webhook_path, endpoints.receive, methods=["POST"]),
            Route("/healthz", endpoints.healthz, methods=["GET"]),
            Route("/metrics", endpoints.metrics, methods=["GET"]),
        ]
    )


class WebhookRefused(Exception):
    """Telegram will not take WEBHOOK_URL (or the token): retrying cannot help."""

    def __init__(self, error: TelegramError) -> None:
        super().__init__(error.message)
        self.error = error


async def register_webhook(app: BotApplication, settings: Settings) -> None:
    """setWebhook with the secret and the update types polling would ask for.

    Several workers all register the same URL, which Telegram takes as often as it
    is asked. A 429 is waited out by the rate limiter; a failure on the way (a 500,
    a timeout, a dropped connection) is said once and tried again, waits doubling
    up to 30 s, until it works or the process is told to stop. A refusal (a bad
    URL, a revoked token) raises `WebhookRefused`.
    """
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    backoff = 0.0
    said = False
    while True:
        try:
            await app.bot.set_webhook(
                url=settings.webhook_url,
                secret_token=settings.webhook_secret.get_secret_value(),
                allowed_updates=handled_update_types(app),
            )
        except (BadRequest, Forbidden, InvalidToken) as error:
            raise WebhookRefused(error) from None
        except (NetworkError, RetryAfter) as error:
            if isinstance(error, RetryAfter):  # beyond the rate limiter's own retries
                backoff = seconds_to_wait(error)
            else:
                backoff = min(LONGEST_BACKOFF_SECONDS, max(FIRST_BACKOFF_SECONDS, backoff * 2))
            if not said:
                said = True
                log.warning("cannot set the webhook (%s); retrying quietly", error.message)
            await asyncio.sleep(backoff)
            continue
        if said:
            log.info("the webhook is set")
        return
