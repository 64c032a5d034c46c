"""Two real `python -m bot` webhook workers on one PostgreSQL database, behind a forwarder.

The production shape in miniature: the Bot API double posts each update, as Telegram
does, to one public address; a small round-robin forwarder (the load balancer) hands
it to one worker after the other and skips a worker that does not answer. Both
workers share one fresh PostgreSQL database, made for the test and dropped after it.

Each worker talks to the double under its own first path segment (`/worker-a/bot...`),
so the double can say which worker made a call (`BotApiDouble.calls_via`,
`parked_via`). A test kills one with SIGKILL (`Worker.kill`) and starts it again
(`Worker.start`) on the same port, database and log.

    with two_workers(double, tmp_path, SESSION_TIME_SCALE="0.05") as pair:
        double.push_message(ANA, "/start")
        pair.workers[0].kill()
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.playground.double import SECRET_HEADER, BotApiDouble, get
from tests.conftest import postgres_or_skip
from tests.e2e.process import (
    SHUTDOWN_LIMIT_SECONDS,
    Stopped,
    bot_settings,
    clean_env,
)

SECRET = "two-workers-secret-0123456789"
HOOK = "https://bot.example.test/telegram/hook"
WORKER_NAMES = ("worker-a", "worker-b")
# Two processes importing and migrating at once on a machine shared with other work: a
# guard against a hang, not a measure of start-up time.
START_WITHIN = 60.0
# A forwarded post that takes longer than this counts as no answer: try the next worker.
_FORWARD_TIMEOUT_SECONDS = 5.0


async def _admin(server_url: str, statement: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@contextmanager
def fresh_database(suffix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on TEST_DATABASE_URL's server, dropped after.

    Named after the test database and this process, so parallel runs on one server (and
    other worktrees) never meet.
    """
    server = make_url(postgres_or_skip())
    name = f"{server.database}_{suffix}_{os.getpid()}"
    admin = server.render_as_string(hide_password=False)
    asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_admin(admin, f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Forwarder:
    """A round-robin HTTP forwarder: each post goes to the next worker that answers.

    A worker that refuses the connection or does not answer in time is skipped for
    that post, which goes to the next one; with no worker answering, the post gets 502
    and Telegram (the double) posts it again later. Answers pass through as they are,
    so a worker's 403 or 503 reaches Telegram.
    """

    def __init__(self, targets: list[tuple[str, str]]) -> None:
        # (name, base URL) of each worker, in turn.
        self._targets = targets
        self._turn = itertools.count()
        self._lock = threading.Lock()
        # Every post forwarded: (the worker that answered, or "" for none; its status).
        self.forwarded: list[tuple[str, int]] = []
        # Posts a worker did not answer, by worker name.
        self.skipped: dict[str, int] = {name: 0 for name, _ in targets}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="forwarder",
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Forwarder:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def handled_by(self) -> dict[str, int]:
        """How many posts each worker answered 200."""
        with self._lock:
            counts = {name: 0 for name, _ in self._targets}
            for name, status in self.forwarded:
                if status == 200:
                    counts[name] += 1
            return counts

    def forward(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        with self._lock:
            first = next(self._turn) % len(self._targets)
        order = self._targets[first:] + self._targets[:first]
        for name, base in order:
            request = urllib.request.Request(
                base + path, data=body, headers=headers, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=_FORWARD_TIMEOUT_SECONDS) as answer:
                    status = int(answer.status)
            except urllib.error.HTTPError as error:
                status = int(error.code)
            except OSError:
                # Refused, reset or timed out: this worker is down (or dying); next.
                with self._lock:
                    self.skipped[name] += 1
                continue
            with self._lock:
                self.forwarded.append((name, status))
            return status
        with self._lock:
            self.forwarded.append(("", 502))
        return 502

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        forwarder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms wait for a delayed ACK per answer

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {"Content-Type": self.headers.get("Content-Type") or ""}
                secret = self.headers.get(SECRET_HEADER)
                if secret is not None:
                    headers[SECRET_HEADER] = secret
                status = forwarder.forward(self.path, body, headers)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


class Worker:
    """One `python -m bot` webhook worker: its own port, folder and log, the shared DB."""

    def __init__(self, name: str, folder: Path, environment: dict[str, str]) -> None:
        self.name = name
        self.folder = folder
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._environment = {**environment, "WEBHOOK_LISTEN": f"127.0.0.1:{self.port}"}
        self._log_file = folder / "output.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        """Start the process (again, after a kill): same port, database and log."""
        assert not self.running, f"{self.name} is running"
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._log_file.open("ab") as sink:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "bot"],
                cwd=self.folder,
                env=self._environment,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1

    def wait_until_healthy(self, timeout: float = START_WITHIN) -> None:
        """Until /healthz says 200: migrated, started, the database answering."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise AssertionError(f"{self.name} exited:\n{self.output()}")
            if get(self.base + "/healthz", timeout=1.0)[0] == 200:
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.name} not healthy within {timeout}s:\n{self.output()}")

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self) -> int:
        """SIGKILL: no shutdown, no release of claims, as in a crash."""
        assert self._process is not None
        self._process.kill()
        return self._process.wait(timeout=SHUTDOWN_LIMIT_SECONDS)

    def stop(self, limit: float = 10.0) -> Stopped:
        """SIGTERM and wait: the drain the issue asks of a worker."""
        assert self._process is not None
        asked = time.monotonic()
        self._process.send_signal(signal.SIGTERM)
        status = self._process.wait(timeout=limit)
        return Stopped(status, self.output(), time.monotonic() - asked)

    def output(self) -> str:
        return self._log_file.read_text(errors="replace") if self._log_file.exists() else ""

    def close(self) -> None:
        if self.running:
            assert self._process is not None
            self._process.kill()
            self._process.wait(timeout=5)


class TwoWorkers:
    """The workers, the forwarder in front of them, and the database they share."""

    def __init__(self, workers: list[Worker], forwarder: Forwarder, database_url: str) -> None:
        self.workers = workers
        self.forwarder = forwarder
        self.database_url = database_url

    def worker(self, name: str | None) -> Worker:
        [found] = [w for w in self.workers if w.name == name]
        return found

    def stop_all(self) -> list[Stopped]:
        """SIGTERM to every worker still running; their exits, in order."""
        return [w.stop() for w in self.workers if w.running]


@contextmanager
def two_workers(
    double: BotApiDouble,
    tmp_path: Path,
    *,
    database_url: str | None = None,
    start: bool = True,
    **env: str,
) -> Iterator[TwoWorkers]:
    """Two workers behind a forwarder on a fresh database (or `database_url`), started.

    With `start=False` the test starts them itself (`for w in pair.workers: w.start()`,
    then `wait_until_healthy`), to set the double up first. Workers still running at the
    end are killed; the database is dropped.
    """
    with ExitStack() as stack:
        url = database_url or stack.enter_context(fresh_database("tw"))
        workers = []
        for name in WORKER_NAMES:
            folder = tmp_path / name
            settings = bot_settings(
                double,
                folder,
                DATABASE_URL=url,
                # The worker's own segment, so the double knows who called.
                TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{double.port}/{name}/bot",
                WEBHOOK_URL=HOOK,
                WEBHOOK_SECRET=SECRET,
                **env,
            )
            worker = Worker(name, folder, clean_env(**settings))
            stack.callback(worker.close)
            workers.append(worker)
        forwarder = stack.enter_context(Forwarder([(w.name, w.base) for w in workers]))
        double.deliver_webhooks_to(forwarder.base_url)
        pair = TwoWorkers(workers, forwarder, url)
        if start:
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.wait_until_healthy()
            double.wait_for_webhook(timeout=START_WITHIN)
        yield pair
