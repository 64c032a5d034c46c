"""Fixtures every test folder shares: settings, databases, a running bot."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import Settings
from tests.clock import FakeClock
from tests.harness import BotHarness, running_bot

TEST_TOKEN = "123456789:AAE-test-token-for-the-fake-bot-api-only"
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL")


def make_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for a test, ignoring any .env or environment of the machine."""
    values: dict[str, Any] = {
        "telegram_bot_token": SecretStr(TEST_TOKEN),
        "database_url": database_url,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def reset_postgres(url: str) -> None:
    """An empty public schema, so every PostgreSQL test starts from nothing."""
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def postgres_or_skip() -> str:
    """TEST_DATABASE_URL; the test skips without it, and fails under REQUIRE_POSTGRES=1."""
    if not POSTGRES_URL:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not")
        pytest.skip("TEST_DATABASE_URL is not set; see README")
    return POSTGRES_URL


async def fresh_postgres() -> str:
    """TEST_DATABASE_URL with an empty public schema (see `postgres_or_skip`)."""
    url = postgres_or_skip()
    await reset_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'pairstretch.sqlite3'}"


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each storage test runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'pairstretch.sqlite3'}"
        return
    yield await fresh_postgres()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url)


@pytest.fixture
async def bot(settings: Settings, clock: FakeClock) -> AsyncIterator[BotHarness]:
    async with running_bot(settings, clock) as harness:
        yield harness


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail("REQUIRE_REDIS is set but TEST_REDIS_URL is not")
        pytest.skip("TEST_REDIS_URL is not set; see README")
    return REDIS_URL


@pytest.fixture
def namespace() -> str:
    # Each test its own keys in Redis: parallel runs on one Redis never meet.
    return f"test-{uuid.uuid4().hex}"
