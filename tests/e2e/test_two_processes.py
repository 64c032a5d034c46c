"""Two real processes starting at once on one empty PostgreSQL database both come up."""

from __future__ import annotations

import asyncio
import os
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.playground.double import BotApiDouble
from tests.conftest import POSTGRES_URL, TEST_TOKEN
from tests.e2e.process import STARTUP_LIMIT_SECONDS, bot_process
from tests.harness import Person

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ANA = Person(101, "Ana", "ana")
# Before the migration lock, one process of the two died in 5 of 6 tries.
TRIES = 3


async def _admin(statement: str) -> None:
    assert POSTGRES_URL is not None
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def test_two_processes_starting_at_once_on_an_empty_postgresql_database_both_come_up(
    tmp_path: Path,
) -> None:
    if not POSTGRES_URL:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not")
        pytest.skip("TEST_DATABASE_URL is not set; see README")
    server = make_url(POSTGRES_URL)
    for attempt in range(TRIES):
        # A fresh database per try, named after the test database so that parallel runs
        # on one server never meet.
        name = f"{server.database}_{attempt}"
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        url = server.set(database=name).render_as_string(hide_password=False)
        try:
            with ExitStack() as stack:
                doubles, stops = [], []
                for which in ("first", "second"):
                    double = stack.enter_context(BotApiDouble(token=TEST_TOKEN))
                    folder = tmp_path / f"{attempt}-{which}"
                    folder.mkdir()
                    stops.append(
                        stack.enter_context(bot_process(double, folder, DATABASE_URL=url))
                    )
                    doubles.append(double)
                for double in doubles:
                    double.push_message(ANA, "/start")
                for double in doubles:
                    greeting = double.wait_for_message(ANA.id, timeout=STARTUP_LIMIT_SECONDS)
                    assert greeting.text.startswith("Hi Ana")
                for stop in stops:
                    stopped = stop()
                    assert stopped.status == 0, stopped.output
                    assert "Traceback" not in stopped.output
        finally:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
