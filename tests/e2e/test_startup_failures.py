"""Every way the real process can fail to start: one line on stderr, the right exit status,
and the token nowhere in what it wrote."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from bot.config import EXAMPLE_TOKEN
from bot.playground.double import BotApiDouble
from storage.db import Database
from tests.conftest import TEST_TOKEN, postgres_or_skip
from tests.e2e.process import REPO_ROOT, Exited, run_to_the_end

pytestmark = pytest.mark.e2e

# A token of the right shape that the double does not know: it answers 401 to it.
REJECTED_TOKEN = "987654321:AAH-a-token-telegram-does-not-know-at-all"


def secret_half(token: str) -> str:
    return token.split(":", 1)[1]


def closed_port() -> int:
    """A port nothing listens on: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_one_line_failure(exited: Exited, status: int, *names: str) -> str:
    print(f"exit {exited.status} after {exited.seconds:.1f}s: {exited.stderr.strip()}")
    lines = exited.stderr.splitlines()
    assert len(lines) == 1, exited.stderr
    assert exited.status == status, exited.stderr
    assert lines[0].startswith("pairstretch: ")
    for name in names:
        assert name in lines[0]
    for token in (TEST_TOKEN, REJECTED_TOKEN, EXAMPLE_TOKEN):
        assert secret_half(token) not in exited.stdout + exited.stderr
    return lines[0]


# -- the Bot API -------------------------------------------------------------------------
def test_a_token_telegram_rejects_is_one_line_without_the_token(
    double: BotApiDouble, tmp_path: Path
) -> None:
    exited = run_to_the_end(double, tmp_path, TELEGRAM_BOT_TOKEN=REJECTED_TOKEN)

    line = assert_one_line_failure(exited, 1, "TELEGRAM_BOT_TOKEN", "Unauthorized")
    assert "rejected" in line


def test_a_base_url_without_bot_is_one_line_naming_the_url(
    double: BotApiDouble, tmp_path: Path
) -> None:
    without_bot = double.base_url.removesuffix("bot")

    exited = run_to_the_end(double, tmp_path, TELEGRAM_API_BASE_URL=without_bot)

    assert_one_line_failure(exited, 1, "TELEGRAM_API_BASE_URL", without_bot, "Not Found")


def test_an_unreachable_bot_api_is_one_line(double: BotApiDouble, tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{closed_port()}/bot"

    exited = run_to_the_end(double, tmp_path, TELEGRAM_API_BASE_URL=nowhere)

    assert_one_line_failure(exited, 1, "TELEGRAM_API_BASE_URL", nowhere, "cannot reach")


def test_the_example_token_is_a_bad_setting(double: BotApiDouble, tmp_path: Path) -> None:
    example = (REPO_ROOT / ".env.example").read_text()
    assert f"TELEGRAM_BOT_TOKEN={EXAMPLE_TOKEN}\n" in example

    exited = run_to_the_end(double, tmp_path, TELEGRAM_BOT_TOKEN=EXAMPLE_TOKEN)

    assert_one_line_failure(exited, 2, "TELEGRAM_BOT_TOKEN", "placeholder")
    # Refused before anything was asked of Telegram.
    assert double.world.calls == []


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("TELEGRAM_RATE_LIMIT", "0", "greater than or equal to 1"),
        ("TELEGRAM_RATE_LIMIT", "1001", "less than or equal to 1000"),
        ("REDIS_URL", "http://127.0.0.1:6379", "must start with redis://"),
        ("WORKERS", "0", "greater than or equal to 1"),
        ("REMINDER_TAKEOVER_SECONDS", "0", "greater than or equal to 1"),
    ],
)
def test_a_bad_budget_or_takeover_setting_is_one_line_and_exit_2(
    double: BotApiDouble, tmp_path: Path, name: str, value: str, said: str
) -> None:
    exited = run_to_the_end(double, tmp_path, **{name: value})

    assert_one_line_failure(exited, 2, name, said)
    assert double.world.calls == []


# -- SQLite ------------------------------------------------------------------------------
def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def test_a_sqlite_path_under_a_file_is_one_line(double: BotApiDouble, tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("not a folder")
    url = sqlite_url(tmp_path / "plain-file" / "bot.sqlite3")

    exited = run_to_the_end(double, tmp_path, DATABASE_URL=url)

    assert_one_line_failure(exited, 1, "DATABASE_URL", "cannot create the folder")


def test_a_file_that_is_not_a_database_is_one_line(double: BotApiDouble, tmp_path: Path) -> None:
    (tmp_path / "notes.sqlite3").write_bytes(b"shopping list: oats, apples\n" * 200)

    exited = run_to_the_end(double, tmp_path, DATABASE_URL=sqlite_url(tmp_path / "notes.sqlite3"))

    assert_one_line_failure(exited, 1, "DATABASE_URL", "file is not a database")


def test_a_folder_as_the_sqlite_file_is_one_line(double: BotApiDouble, tmp_path: Path) -> None:
    (tmp_path / "data.sqlite3").mkdir()

    exited = run_to_the_end(double, tmp_path, DATABASE_URL=sqlite_url(tmp_path / "data.sqlite3"))

    assert_one_line_failure(exited, 1, "DATABASE_URL", "is a folder")


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """`path` cannot be written, even by root (which ignores file modes)."""
    if os.geteuid() == 0:
        made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
        if made.returncode != 0:
            pytest.skip(f"cannot make a file read-only as root here: {made.stderr!r}")
        undo: Callable[[], object] = lambda: subprocess.run(["chattr", "-i", str(path)])  # noqa: E731
    else:
        path.chmod(0o444)
        undo = lambda: path.chmod(0o644)  # noqa: E731
    try:
        with sqlite3.connect(path) as probe, pytest.raises(sqlite3.OperationalError):
            probe.execute("CREATE TABLE probe (x)")
        yield
    finally:
        undo()


def test_a_read_only_sqlite_file_is_refused_at_start(double: BotApiDouble, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "bot.sqlite3")

    async def migrated() -> None:
        database = Database.connect(url)
        await database.migrate()
        await database.dispose()

    asyncio.run(migrated())

    with read_only(tmp_path / "bot.sqlite3"):
        exited = run_to_the_end(double, tmp_path, DATABASE_URL=url)

    assert_one_line_failure(exited, 1, "DATABASE_URL", "readonly")
    assert "ready" not in exited.stderr


# -- PostgreSQL --------------------------------------------------------------------------
def test_postgresql_down_is_one_line(double: BotApiDouble, tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/pairstretch"

    exited = run_to_the_end(double, tmp_path, DATABASE_URL=url)

    assert_one_line_failure(exited, 1, "DATABASE_URL", "no database server answers")


def postgres_url_with(**parts: Any) -> str:
    url = make_url(postgres_or_skip())
    return url.set(**parts).render_as_string(hide_password=False)


@pytest.mark.postgres
def test_a_missing_postgresql_database_is_one_line(double: BotApiDouble, tmp_path: Path) -> None:
    url = postgres_url_with(database="pairstretch_no_such_database")

    exited = run_to_the_end(double, tmp_path, DATABASE_URL=url)

    assert_one_line_failure(
        exited, 1, "DATABASE_URL", '"pairstretch_no_such_database" does not exist'
    )


@pytest.mark.postgres
def test_a_missing_postgresql_role_is_one_line(double: BotApiDouble, tmp_path: Path) -> None:
    url = postgres_url_with(username="pairstretch_no_such_role", password="s3cret-pw")

    exited = run_to_the_end(double, tmp_path, DATABASE_URL=url)

    assert_one_line_failure(exited, 1, "DATABASE_URL", '"pairstretch_no_such_role" does not exist')
    assert "s3cret-pw" not in exited.stderr
