"""The real `python -m bot` process, talking HTTP to a Bot API double."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from storage.migrate import alembic_config
from tests.conftest import TEST_TOKEN
from tests.e2e.http_double import BotApiDouble
from tests.harness import Group, Person

REPO_ROOT = Path(__file__).resolve().parents[2]
ANA = Person(101, "Ana", "ana")
BEN = Person(202, "Ben")
TEAM = Group(-100500, "Back office")
# Start-up includes the interpreter, imports and the first migration.
STARTUP_LIMIT_SECONDS = 15.0
SHUTDOWN_LIMIT_SECONDS = 5.0

pytestmark = pytest.mark.e2e


@pytest.fixture
def double() -> Iterator[BotApiDouble]:
    with BotApiDouble(token=TEST_TOKEN) as api:
        yield api


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
            "LOG_LEVEL",
        }
    }
    env["PYTHONPATH"] = str(REPO_ROOT)
    env.update(values)
    return env


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


@dataclass
class Stopped:
    """How a bot process ended: its exit status, its output, how long SIGTERM took."""

    status: int
    output: str
    shutdown_seconds: float


@contextmanager
def bot_process(
    double: BotApiDouble, tmp_path: Path, **env: str
) -> Iterator[Callable[[], Stopped]]:
    """`python -m bot` against the double; the caller stops it with the function handed out.

    The process runs in an empty folder, so no developer's `.env` is read; it is killed
    if the test leaves early.
    """
    log_file = tmp_path / "output.log"
    environment = clean_env(
        TELEGRAM_BOT_TOKEN=TEST_TOKEN,
        TELEGRAM_API_BASE_URL=double.base_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        **env,
    )
    with log_file.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            cwd=tmp_path,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )

        def stop() -> Stopped:
            asked = time.monotonic()
            process.send_signal(signal.SIGTERM)
            status = process.wait(timeout=SHUTDOWN_LIMIT_SECONDS)
            took = time.monotonic() - asked
            return Stopped(status, log_file.read_text(errors="replace"), took)

        try:
            yield stop
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=5)


def test_the_process_answers_start_and_help_and_stops_cleanly_on_sigterm(
    double: BotApiDouble, tmp_path: Path
) -> None:
    with bot_process(double, tmp_path) as stop:
        double.push_message(ANA, "/start")
        greeting = double.wait_for_message(ANA.id, timeout=STARTUP_LIMIT_SECONDS)
        double.push_message(BEN, "/help@pairstretch_test_bot", chat=TEAM)
        help_reply = double.wait_for_message(TEAM.id, timeout=5)
        stopped = stop()

    assert greeting.text.startswith("Hi Ana!")
    assert "<b>What I can do</b>" in help_reply.text
    assert double.world.bot_messages(BEN.id) == []
    assert stopped.status == 0, stopped.output
    assert stopped.shutdown_seconds < SHUTDOWN_LIMIT_SECONDS
    assert TEST_TOKEN.split(":", 1)[1] not in stopped.output
    # Every update was confirmed to "Telegram" before the process left.
    assert double.pending_updates() == 0
    with sqlite3.connect(tmp_path / "bot.sqlite3") as connection:
        versions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    assert versions == [(head_revision(),)]


def test_debug_logging_never_shows_the_token(double: BotApiDouble, tmp_path: Path) -> None:
    with bot_process(double, tmp_path, LOG_LEVEL="DEBUG") as stop:
        double.push_message(ANA, "/start")
        double.wait_for_message(ANA.id, timeout=STARTUP_LIMIT_SECONDS)
        stopped = stop()

    assert stopped.status == 0, stopped.output
    assert TEST_TOKEN.split(":", 1)[1] not in stopped.output


def test_without_a_token_the_process_says_what_to_do_in_one_line_and_exits_2(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )

    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "TELEGRAM_BOT_TOKEN" in lines[0]
    assert "Traceback" not in result.stderr
