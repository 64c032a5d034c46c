"""The real `python -m bot` process against the Bot API double: start it, stop it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.playground.double import BotApiDouble
from tests.conftest import TEST_TOKEN

REPO_ROOT = Path(__file__).resolve().parents[2]
# Start-up includes the interpreter, imports and the first migration.
STARTUP_LIMIT_SECONDS = 15.0
SHUTDOWN_LIMIT_SECONDS = 5.0


def clean_env(**values: str) -> dict[str, str]:
    """The machine's environment minus anything that configures the bot."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "TELEGRAM_BOT_TOKEN",
            "DATABASE_URL",
            "TELEGRAM_API_BASE_URL",
            "SESSION_TIME_SCALE",
            "REMINDER_GRACE_MINUTES",
            "REMINDER_TAKEOVER_SECONDS",
            "TELEGRAM_RATE_LIMIT",
            "REDIS_URL",
            "LOG_LEVEL",
            "LOG_FORMAT",
            "WEBHOOK_URL",
            "WEBHOOK_LISTEN",
            "WEBHOOK_SECRET",
        }
    }
    env["PYTHONPATH"] = str(REPO_ROOT)
    env.update(values)
    return env


def bot_settings(double: BotApiDouble, tmp_path: Path, **env: str) -> dict[str, str]:
    """A working set of settings against `double`, with `env` overriding any of them."""
    return {
        "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
        "TELEGRAM_API_BASE_URL": double.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        **env,
    }


def run_to_the_end(double: BotApiDouble, tmp_path: Path, **env: str) -> Exited:
    """`python -m bot` that is expected to stop by itself, as it does when it cannot run."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=clean_env(**bot_settings(double, tmp_path, **env)),
        capture_output=True,
        text=True,
        timeout=STARTUP_LIMIT_SECONDS + 15,
        check=False,
    )
    return Exited(result.returncode, result.stdout, result.stderr, time.monotonic() - started)


@dataclass
class Exited:
    """A process that stopped by itself: exit status, what it wrote, how long it ran."""

    status: int
    stdout: str
    stderr: str
    seconds: float


@dataclass
class Stopped:
    """How a bot process ended: its exit status, its output, how long SIGTERM took."""

    status: int
    output: str
    shutdown_seconds: float


class RunningBot:
    """A running bot process: call it to stop it with SIGTERM, or `kill` it outright."""

    def __init__(self, process: subprocess.Popen[bytes], log_file: Path) -> None:
        self._process = process
        self._log_file = log_file
        self._asked = time.monotonic()

    def __call__(self, limit: float = SHUTDOWN_LIMIT_SECONDS) -> Stopped:
        self.terminate()
        return self.wait(limit)

    def terminate(self) -> None:
        """SIGTERM, without waiting: the test watches what the process does meanwhile."""
        self._asked = time.monotonic()
        self._process.send_signal(signal.SIGTERM)

    def wait(self, limit: float = SHUTDOWN_LIMIT_SECONDS) -> Stopped:
        """Until the process exits after `terminate`, at most `limit` seconds."""
        status = self._process.wait(timeout=limit)
        took = time.monotonic() - self._asked
        return Stopped(status, self._log_file.read_text(errors="replace"), took)

    @property
    def running(self) -> bool:
        return self._process.poll() is None

    def output(self) -> str:
        return self._log_file.read_text(errors="replace")

    def kill(self) -> int:
        """SIGKILL: no shutdown at all, as in a crash or an out-of-memory kill."""
        self._process.kill()
        return self._process.wait(timeout=SHUTDOWN_LIMIT_SECONDS)


@contextmanager
def bot_process(double: BotApiDouble, tmp_path: Path, **env: str) -> Iterator[RunningBot]:
    """`python -m bot` against the double; the caller stops it with the handle handed out.

    The process runs in an empty folder, so no developer's `.env` is read; it is killed
    if the test leaves early. A second process in the same folder uses the same
    database (a restart) and adds to the same log.
    """
    log_file = tmp_path / "output.log"
    environment = clean_env(**bot_settings(double, tmp_path, **env))
    with log_file.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            cwd=tmp_path,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            yield RunningBot(process, log_file)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=5)
