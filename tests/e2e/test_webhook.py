"""The real `python -m bot` in webhook mode: the double posts updates as Telegram does."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from bot.playground.double import BotApiDouble, get, post_json
from tests.conftest import TEST_TOKEN, fresh_postgres
from tests.e2e.process import (
    REPO_ROOT,
    STARTUP_LIMIT_SECONDS,
    RunningBot,
    bot_process,
    run_to_the_end,
)
from tests.e2e.tcp_relay import TcpRelay
from tests.harness import Group, Person

ANA = Person(101, "Ana", "ana")
BEN = Person(202, "Ben")
TEAM = Group(-100500, "Back office")
SECRET = "e2e_webhook-secret-0123456789"
HOOK = "https://bot.example.test/telegram/hook"
# SIGTERM to exit, as the issue asks of webhook mode.
DRAIN_LIMIT_SECONDS = 10.0

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def webhook_bot(double: BotApiDouble, tmp_path: Path, **env: str) -> Iterator[WebhookBot]:
    """The bot in webhook mode on a free local port, once it has registered its webhook."""
    port = free_port()
    settings = {
        "WEBHOOK_URL": HOOK,
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
        **env,
    }
    double.deliver_webhooks_to(f"http://127.0.0.1:{port}")
    with bot_process(double, tmp_path, **settings) as process:
        double.wait_for_webhook(timeout=STARTUP_LIMIT_SECONDS)
        yield WebhookBot(process, f"http://127.0.0.1:{port}", port)


class WebhookBot:
    def __init__(self, process: RunningBot, base: str, port: int) -> None:
        self.process = process
        self.base = base
        self.port = port

    def image_health_check(self) -> int:
        """The exit status of the Docker image's health check, run as the image runs it
        with the listener's own setting (every address: it asks through loopback)."""
        return health_check_status(f"0.0.0.0:{self.port}")

    def get(self, path: str) -> tuple[int, str]:
        return get(self.base + path)

    def metrics(self) -> str:
        status, body = self.get("/metrics")
        assert status == 200, body
        return body

    def metrics_once(self, *, handled: int) -> str:
        """/metrics once `handled` messages have been handled to the end."""
        give_up = time.monotonic() + 10
        while True:
            body = self.metrics()
            try:
                count = sample(body, "pairstretch_updates_handled_total", kind="message")
            except AssertionError:
                count = 0
            if count >= handled or time.monotonic() > give_up:
                return body
            time.sleep(0.05)


def health_check_status(listen: str) -> int:
    env = {**os.environ, "WEBHOOK_LISTEN": listen, "PYTHONPATH": str(REPO_ROOT)}
    script = REPO_ROOT / "deploy" / "healthcheck.py"
    checked = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, timeout=30, check=False
    )
    return checked.returncode


def sample(metrics: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(metrics):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return float(s.value)
    raise AssertionError(f"no sample {name}{labels} in /metrics")


def start_update(update_id: int, person: Person) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": person.id, "type": "private", "first_name": person.first_name},
            "from": person.as_user(),
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


def test_updates_pushed_by_webhook_are_answered_counted_and_sigterm_keeps_the_webhook(
    double: BotApiDouble, tmp_path: Path
) -> None:
    with webhook_bot(double, tmp_path, LOG_FORMAT="json") as bot:
        registered = double.wait_for_webhook()
        double.push_message(ANA, "/start")
        greeting = double.wait_for_message(ANA.id, timeout=10)
        double.push_message(BEN, "/help@pairstretch_test_bot", chat=TEAM)
        double.wait_for_message(TEAM.id, timeout=10)
        health = bot.get("/healthz")
        # The reply is out a moment before its handler returns and is counted.
        metrics = bot.metrics_once(handled=2)
        stopped = bot.process(limit=DRAIN_LIMIT_SECONDS)

    assert registered["url"] == HOOK
    assert registered["secret_token"] == SECRET
    # The same update types the long-polling loop asks for.
    assert registered["allowed_updates"] == ["callback_query", "message"]
    assert greeting.text.startswith("Hi Ana!")
    assert health == (200, "ok\n")
    assert sample(metrics, "pairstretch_updates_handled_total", kind="message") == 2
    assert sample(metrics, "pairstretch_update_handling_seconds_count", kind="message") == 2
    assert sample(metrics, "pairstretch_update_handling_seconds_sum", kind="message") > 0
    assert sample(metrics, "pairstretch_webhook_requests_total", outcome="accepted") == 2
    api_ok = sample(
        metrics, "pairstretch_telegram_requests_total", method="sendMessage", outcome="ok"
    )
    assert api_ok == 2
    assert sample(metrics, "pairstretch_live_sessions") == 0
    # Webhook mode never polls, and leaves the webhook set for the next worker.
    assert double.polls == []
    assert double.world.calls_of("deleteWebhook") == []
    assert double.webhook is not None
    assert stopped.status == 0, stopped.output
    assert stopped.shutdown_seconds < DRAIN_LIMIT_SECONDS
    lines = [json.loads(line) for line in stopped.output.splitlines() if line.strip()]
    assert any("webhook: listening on 127.0.0.1:" in line["message"] for line in lines)
    assert all({"timestamp", "level", "logger", "message"} <= line.keys() for line in lines)
    assert TEST_TOKEN.split(":", 1)[1] not in stopped.output
    assert SECRET not in stopped.output


def test_posts_without_the_secret_or_with_a_wrong_one_get_403_and_nothing_is_handled(
    double: BotApiDouble, tmp_path: Path
) -> None:
    with webhook_bot(double, tmp_path) as bot:
        address = double.webhook_address()
        missing = post_json(address, start_update(9001, ANA), None)
        wrong = post_json(address, start_update(9002, ANA), "not-the-secret")
        unread = headers_only_post(address, "wrong")
        # Then a real one, so the refused ones had every chance to be handled first.
        double.push_message(BEN, "/start")
        double.wait_for_message(BEN.id, timeout=10)
        metrics = bot.metrics_once(handled=1)
        stopped = bot.process(limit=DRAIN_LIMIT_SECONDS)

    assert (missing, wrong) == (403, 403)
    assert unread.startswith("HTTP/1.1 403")
    assert double.world.bot_messages(ANA.id) == []
    assert sample(metrics, "pairstretch_webhook_requests_total", outcome="forbidden") == 3
    assert sample(metrics, "pairstretch_updates_handled_total", kind="message") == 1
    assert stopped.status == 0, stopped.output


def headers_only_post(url: str, secret: str) -> str:
    """A post that announces a 10 MB body and sends none of it: the first line of the answer.

    A server that read the body before checking the secret would wait for it instead of
    answering; the socket's timeout only keeps a broken build from hanging the run.
    """
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    path = "/" + url.split("//", 1)[1].split("/", 1)[1]
    host, port = host_port.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: {host_port}\r\n"
                "Content-Type: application/json\r\nContent-Length: 10000000\r\n"
                f"X-Telegram-Bot-Api-Secret-Token: {secret}\r\n\r\n"
            ).encode()
        )
        return conn.recv(4096).decode(errors="replace").splitlines()[0]


def test_sigterm_stops_taking_updates_finishes_the_one_in_hand_and_exits_0(
    double: BotApiDouble, tmp_path: Path
) -> None:
    with webhook_bot(double, tmp_path) as bot:
        double.park("sendMessage", {ANA.id})
        double.push_message(ANA, "/start")
        double.wait_for_parked(1)  # the reply is on its way to Telegram
        bot.process.terminate()
        # The listener closes first: no new update is taken from Telegram ...
        closed = wait_for(lambda: bot.get("/healthz")[0] == 0)
        still_running = bot.process.running
        # ... while the update in hand is finished once Telegram answers.
        double.release_parked()
        stopped = bot.process.wait(limit=DRAIN_LIMIT_SECONDS)

    assert closed and still_running
    assert [m.text.split("!")[0] for m in double.world.bot_messages(ANA.id)] == ["Hi Ana"]
    assert stopped.status == 0, stopped.output
    assert stopped.shutdown_seconds < DRAIN_LIMIT_SECONDS
    assert double.world.calls_of("deleteWebhook") == []


def wait_for(condition: object, within: float = 5.0) -> bool:
    assert callable(condition)
    give_up = time.monotonic() + within
    while time.monotonic() < give_up:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_failing_set_webhook_is_tried_again_until_telegram_takes_it(
    double: BotApiDouble, tmp_path: Path
) -> None:
    double.world.fail("setWebhook", "retry_after", retry_after=1)
    double.world.fail("setWebhook", "server_error")
    double.world.fail("setWebhook", "dropped")
    with webhook_bot(double, tmp_path) as bot:
        double.push_message(ANA, "/start")
        greeting = double.wait_for_message(ANA.id, timeout=10)
        metrics = bot.metrics_once(handled=1)
        stopped = bot.process(limit=DRAIN_LIMIT_SECONDS)

    assert greeting.text.startswith("Hi Ana!")
    assert len(double.world.calls_of("setWebhook")) == 4
    assert sample(metrics, "pairstretch_telegram_rate_limited_total", method="setWebhook") == 1
    assert (
        sample(metrics, "pairstretch_telegram_requests_total", method="setWebhook", outcome="500")
        == 1
    )
    # The 429 paused the budget once; the greeting then took its place in Ana's chat.
    assert sample(metrics, "pairstretch_budget_pauses_total") == 1
    assert sample(metrics, "pairstretch_budget_pause_seconds_total") == 1.1
    assert sample(metrics, "pairstretch_budget_wait_seconds_count", window="private") == 1
    assert sample(metrics, "pairstretch_budget_fallbacks_total") == 0
    assert stopped.status == 0, stopped.output
    assert stopped.output.count("cannot set the webhook") == 1


def test_a_webhook_url_telegram_refuses_is_one_line_and_exit_1(
    double: BotApiDouble, tmp_path: Path
) -> None:
    # A 400 from setWebhook, as Telegram gives for a URL it will not post to.
    double.world.fail("setWebhook", "chat_not_found")
    exited = run_to_the_end(
        double,
        tmp_path,
        WEBHOOK_URL=HOOK,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_LISTEN=f"127.0.0.1:{free_port()}",
    )

    assert exited.status == 1
    # It comes after start-up (the listener must be up before Telegram is told of it),
    # so the INFO lines of starting and stopping come first; the cause is one line.
    [line] = [line for line in exited.stderr.splitlines() if line.startswith("pairstretch:")]
    assert line.startswith(f"pairstretch: Telegram refused WEBHOOK_URL {HOOK}: ")
    assert exited.stderr.splitlines()[-1] == line
    assert "Traceback" not in exited.stderr
    assert len(double.world.calls_of("setWebhook")) == 1


@pytest.mark.parametrize(
    ("secret", "said"),
    [
        (None, "WEBHOOK_SECRET is not set"),
        ("has spaces and !", "WEBHOOK_SECRET must be 1-256 characters"),
        ("x" * 257, "WEBHOOK_SECRET must be 1-256 characters"),
    ],
)
def test_a_missing_or_bad_webhook_secret_is_one_line_and_exit_2(
    double: BotApiDouble, tmp_path: Path, secret: str | None, said: str
) -> None:
    env = {"WEBHOOK_URL": HOOK} | ({"WEBHOOK_SECRET": secret} if secret is not None else {})
    exited = run_to_the_end(double, tmp_path, **env)

    assert exited.status == 2
    assert exited.stderr.splitlines() == [exited.stderr.strip()], exited.stderr
    assert said in exited.stderr
    assert double.world.calls == []


def test_a_port_in_use_is_one_line_and_exit_1(double: BotApiDouble, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        exited = run_to_the_end(
            double,
            tmp_path,
            WEBHOOK_URL=HOOK,
            WEBHOOK_SECRET=SECRET,
            WEBHOOK_LISTEN=f"127.0.0.1:{port}",
        )

    assert exited.status == 1
    assert exited.stderr.splitlines() == [
        f"pairstretch: cannot listen on WEBHOOK_LISTEN 127.0.0.1:{port}: Address already in use"
    ]


@pytest.mark.postgres
async def test_healthz_is_503_while_the_database_is_gone_and_200_once_it_is_back(
    double: BotApiDouble, tmp_path: Path
) -> None:
    url = make_url(await fresh_postgres())
    # The bot reaches PostgreSQL through a relay the test can cut, as a server going down.
    relay = TcpRelay((url.host or "127.0.0.1", url.port or 5432))
    relayed = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    try:
        with webhook_bot(double, tmp_path, DATABASE_URL=relayed) as bot:
            before = bot.get("/healthz")
            checked_before = bot.image_health_check()
            relay.cut()
            during = bot.get("/healthz")
            checked_during = bot.image_health_check()
            live_during = sample(bot.metrics(), "pairstretch_live_sessions")
            relay.restore()
            after = bot.get("/healthz")
            checked_after = bot.image_health_check()
            stopped = bot.process(limit=DRAIN_LIMIT_SECONDS)
    finally:
        relay.close()

    assert before == (200, "ok\n")
    assert during == (503, "unavailable: database\n")
    assert math.isnan(live_during)
    assert after == (200, "ok\n")
    # The image's health check follows /healthz: healthy, unhealthy, healthy again.
    assert (checked_before, checked_during, checked_after) == (0, 1, 0)
    assert stopped.status == 0, stopped.output


def test_the_image_health_check_fails_where_nothing_listens() -> None:
    assert health_check_status(f"127.0.0.1:{free_port()}") == 1
