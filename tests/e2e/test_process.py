"""The real `python -m bot` process, talking HTTP to a Bot API double."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from bot.playground.double import BotApiDouble
from storage.migrate import alembic_config
from tests.conftest import TEST_TOKEN
from tests.e2e.process import (
    SHUTDOWN_LIMIT_SECONDS,
    STARTUP_LIMIT_SECONDS,
    bot_process,
    clean_env,
)
from tests.harness import Group, Person

ANA = Person(101, "Ana", "ana")
BEN = Person(202, "Ben")
TEAM = Group(-100500, "Back office")

pytestmark = pytest.mark.e2e


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


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
