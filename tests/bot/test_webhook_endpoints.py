"""Webhook mode in-process: the real Application behind its ASGI endpoints.

Requests go to the Starlette application through httpx's ASGI transport; the updates
they carry are handled by the real application, against the fake Bot API.
"""

from __future__ import annotations

import io
import json
import logging
import math
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from bot.config import Settings
from bot.json_logs import JsonLinesFormatter
from bot.redaction import REDACTED, RedactingFormatter, Redactor
from bot.reminder_dispatch import ReminderDispatcher, dispatcher_job
from bot.webhook import SECRET_HEADER, webhook_app
from tests.bot.session_helpers import ANA, BEN, pair_in_database
from tests.clock import FakeClock
from tests.conftest import TEST_TOKEN, make_settings
from tests.harness import BotHarness, running_bot, wait_until

SECRET = "s3cret_of-the-hook"
HOOK = "https://bot.example.test/telegram/hook"


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url, webhook_url=HOOK, webhook_secret=SecretStr(SECRET))


@pytest.fixture
async def bot(settings: Settings, clock: FakeClock) -> AsyncIterator[BotHarness]:
    # The dispatcher is held so that only the test's own tick sends reminders.
    async with running_bot(settings, clock, reminders_held=True) as harness:
        yield harness


@pytest.fixture
async def web(bot: BotHarness, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=webhook_app(bot.app, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
        yield client


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in Prometheus text; AssertionError when it is absent."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return float(s.value)
    raise AssertionError(f"no sample {name}{labels} in /metrics")


def start_update(update_id: int, user_id: int = ANA.id, name: str = "Ana") -> dict[str, object]:
    user = {"id": user_id, "is_bot": False, "first_name": name}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": name},
            "from": user,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


def has_opened_the_bot(bot: BotHarness, user_id: int, name: str) -> None:
    """The person's private chat exists on Telegram's side, so the bot may answer there."""
    bot.world.add_private_chat({"id": user_id, "first_name": name})
    bot.world.opened.add(user_id)


async def post(web: httpx.AsyncClient, payload: object, secret: str | None = SECRET) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    response = await web.post("/telegram/hook", json=payload, headers=headers)
    return response.status_code


async def handled(web: httpx.AsyncClient, count: int) -> str:
    """/metrics once `count` messages have been handled to the end (after their replies)."""

    async def done() -> bool:
        text = (await web.get("/metrics")).text
        return f'pairstretch_updates_handled_total{{kind="message"}} {count:.1f}' in text

    await wait_until(done, what=f"{count} handled updates", within=10)
    return (await web.get("/metrics")).text


async def greeted(bot: BotHarness, user_id: int) -> bool:
    return any(m.text.startswith("Hi ") for m in bot.inbox(user_id))


async def test_an_update_posted_with_the_secret_is_acknowledged_and_then_handled(
    bot: BotHarness, web: httpx.AsyncClient
) -> None:
    has_opened_the_bot(bot, ANA.id, "Ana")

    assert await post(web, start_update(1)) == 200
    await wait_until(lambda: greeted(bot, ANA.id), what="the greeting", within=10)

    metrics = await handled(web, 1)
    assert sample(metrics, "pairstretch_updates_handled_total", kind="message") == 1
    assert sample(metrics, "pairstretch_update_handling_seconds_count", kind="message") == 1
    assert sample(metrics, "pairstretch_webhook_requests_total", outcome="accepted") == 1
    sent = sample(
        metrics, "pairstretch_telegram_requests_total", method="sendMessage", outcome="ok"
    )
    assert sent == 1


async def test_a_wrong_or_missing_secret_is_403_and_the_update_is_never_handled(
    bot: BotHarness, web: httpx.AsyncClient
) -> None:
    has_opened_the_bot(bot, ANA.id, "Ana")
    has_opened_the_bot(bot, BEN.id, "Ben")
    assert await post(web, start_update(1), secret=None) == 403
    assert await post(web, start_update(2), secret="not-the-secret") == 403
    assert await post(web, start_update(3), secret=SECRET[:-1]) == 403
    # Then one with the secret, so the refused ones had every chance to be handled.
    assert await post(web, start_update(4, BEN.id, "Ben")) == 200
    await wait_until(lambda: greeted(bot, BEN.id), what="Ben's greeting", within=10)

    metrics = await handled(web, 1)
    assert bot.inbox(ANA.id) == []
    assert sample(metrics, "pairstretch_webhook_requests_total", outcome="forbidden") == 3
    assert sample(metrics, "pairstretch_updates_handled_total", kind="message") == 1


async def test_an_update_of_a_shape_the_bot_cannot_read_is_acknowledged_and_skipped(
    bot: BotHarness, web: httpx.AsyncClient
) -> None:
    has_opened_the_bot(bot, ANA.id, "Ana")
    unreadable = {"update_id": 1, "message": {"message_id": "not a message"}}

    assert await post(web, unreadable) == 200
    assert await post(web, ["not", "an", "update"]) == 400
    assert await post(web, start_update(2)) == 200
    await wait_until(lambda: greeted(bot, ANA.id), what="the greeting after it", within=10)

    metrics = await handled(web, 1)
    assert sample(metrics, "pairstretch_webhook_requests_total", outcome="unreadable") == 2
    assert sample(metrics, "pairstretch_updates_handled_total", kind="message") == 1


async def test_healthz_is_200_while_running_and_503_once_the_application_stopped(
    bot: BotHarness, web: httpx.AsyncClient
) -> None:
    running = await web.get("/healthz")
    await bot.app.stop()
    stopped = await web.get("/healthz")
    refused = await post(web, start_update(1))
    await bot.app.start()  # the harness stops it again on the way out

    assert (running.status_code, running.text) == (200, "ok\n")
    assert (stopped.status_code, stopped.text) == (503, "unavailable: application\n")
    # A stopping worker takes no update: Telegram posts it again, elsewhere or later.
    assert refused == 503


async def test_healthz_is_503_when_the_database_is_not_open(
    bot: BotHarness, web: httpx.AsyncClient
) -> None:
    database = bot.app.bot_data.db
    before = await web.get("/healthz")
    # What post_shutdown does: the engine is disposed and the database let go.
    await database.dispose()
    bot.app.bot_data.db = None
    after = await web.get("/healthz")
    metrics = (await web.get("/metrics")).text
    bot.app.bot_data.db = database  # the harness's shutdown closes it again

    assert before.status_code == 200
    assert (after.status_code, after.text) == (503, "unavailable: database\n")
    # A count that cannot be read is NaN, not the last one seen.
    assert math.isnan(sample(metrics, "pairstretch_live_sessions"))


async def test_metrics_count_live_sessions_and_reminders_sent_with_their_delay(
    bot: BotHarness, web: httpx.AsyncClient
) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/remind 07:30")
    await bot.say(BEN, "/stretch quick")
    bot.clock.set(datetime(2030, 3, 4, 7, 30, 5, tzinfo=ZoneInfo("UTC")))
    job = dispatcher_job(bot.app)
    assert isinstance(job.data, ReminderDispatcher)
    await job.data.tick(bot.app.bot, bot.app.bot_data)

    metrics = (await web.get("/metrics")).text

    assert sample(metrics, "pairstretch_live_sessions") == 1
    assert sample(metrics, "pairstretch_reminders_sent_total") == 2
    assert sample(metrics, "pairstretch_reminder_send_delay_seconds_count") == 2


async def test_failed_bot_api_calls_are_counted_by_outcome_and_the_reply_still_arrives(
    bot: BotHarness, web: httpx.AsyncClient
) -> None:
    bot.world.fail("sendMessage", "server_error", chat_id=ANA.id)
    await bot.say(ANA, "/start")  # the 500 is logged; Ana gets an apology attempt
    bot.world.fail("sendMessage", "timeout", chat_id=BEN.id)
    await bot.say(BEN, "/start")
    # A 429 is waited out by the rate limiter and the reply goes through.
    bot.world.fail("sendMessage", "retry_after", chat_id=ANA.id, retry_after=1)
    await bot.say(ANA, "/help")

    metrics = (await web.get("/metrics")).text

    def calls(outcome: str) -> float:
        return sample(
            metrics, "pairstretch_telegram_requests_total", method="sendMessage", outcome=outcome
        )

    assert calls("500") == 1
    assert calls("timeout") == 1
    assert calls("429") == 1
    assert sample(metrics, "pairstretch_telegram_rate_limited_total", method="sendMessage") == 1
    assert sample(metrics, "pairstretch_telegram_retry_after_seconds_total") == 1
    assert any("What I can do" in m.text for m in bot.inbox(ANA.id))


async def test_a_429_shows_as_a_budget_pause_and_the_retry_as_a_wait_for_its_grant(
    bot: BotHarness, web: httpx.AsyncClient
) -> None:
    await bot.say(ANA, "/start")
    before = (await web.get("/metrics")).text
    bot.world.fail("sendMessage", "retry_after", chat_id=ANA.id, retry_after=1)
    await bot.say(ANA, "/help")

    metrics = (await web.get("/metrics")).text

    assert sample(before, "pairstretch_budget_pauses_total") == 0
    assert sample(metrics, "pairstretch_budget_pauses_total") == 1
    # Telegram's second and a tenth for the clocks between us.
    assert sample(metrics, "pairstretch_budget_pause_seconds_total") == pytest.approx(1.1)
    waits = "pairstretch_budget_wait_seconds"
    assert sample(before, f"{waits}_count", window="private") == 1
    # /help's first try went at once; its second waited out the pause.
    assert sample(metrics, f"{waits}_count", window="private") == 3
    assert sample(metrics, f"{waits}_bucket", window="private", le="1.0") == 2
    assert any("What I can do" in m.text for m in bot.inbox(ANA.id))


async def test_a_redis_that_does_not_answer_shows_as_errors_and_fallbacks(
    sqlite_url: str, clock: FakeClock
) -> None:
    # Nothing listens on port 9 of this machine.
    settings = make_settings(
        sqlite_url,
        webhook_url=HOOK,
        webhook_secret=SecretStr(SECRET),
        redis_url="redis://127.0.0.1:9/0",
    )
    async with running_bot(settings, clock, reminders_held=True) as bot:
        transport = httpx.ASGITransport(app=webhook_app(bot.app, settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://worker") as web:
            before = (await web.get("/metrics")).text
            await bot.say(ANA, "/start")
            metrics = (await web.get("/metrics")).text

    assert sample(before, "pairstretch_budget_fallbacks_total") == 0
    # One failed call; the worker then keeps to its own share without asking Redis.
    assert sample(metrics, "pairstretch_budget_redis_errors_total", error="ConnectionError") == 1
    assert sample(metrics, "pairstretch_budget_fallbacks_total") == 1
    assert any(m.text.startswith("Hi Ana") for m in bot.inbox(ANA.id))


async def test_json_log_lines_name_the_update_being_handled_and_never_the_token(
    bot: BotHarness, web: httpx.AsyncClient
) -> None:
    has_opened_the_bot(bot, ANA.id, "Ana")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        RedactingFormatter("%(message)s", Redactor(TEST_TOKEN), inner=JsonLinesFormatter())
    )
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        # Telegram fails the reply, so the error handler logs while update 7 is handled.
        bot.world.fail("sendMessage", "server_error", chat_id=ANA.id, times=2)
        assert await post(web, start_update(7)) == 200
        await wait_until(
            lambda: _async_true(bool(bot.world.calls_of("sendMessage"))), what="the reply try"
        )
        await wait_until(lambda: _async_true("network trouble" in stream.getvalue()), what="log")
        logging.getLogger("tests").warning("outside any update, token %s", TEST_TOKEN)
    finally:
        root.removeHandler(handler)

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    trouble = next(line for line in lines if "network trouble" in line["message"])
    outside = next(line for line in lines if line["logger"] == "tests")
    assert trouble["update_id"] == 7
    assert trouble["level"] == "WARNING"
    assert trouble["timestamp"].endswith("+00:00")
    assert "update_id" not in outside
    assert outside["message"] == f"outside any update, token {REDACTED}"
    assert TEST_TOKEN.split(":", 1)[1] not in stream.getvalue()


async def _async_true(value: bool) -> bool:
    return value
