"""Two real processes starting at once on one empty PostgreSQL database both come up."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest

from bot.playground.double import BotApiDouble
from tests.conftest import TEST_TOKEN
from tests.e2e.process import STARTUP_LIMIT_SECONDS, bot_process
from tests.e2e.two_workers import fresh_database
from tests.harness import Person

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ANA = Person(101, "Ana", "ana")
# Before the migration lock, one process of the two died in 5 of 6 tries.
TRIES = 3


def test_two_processes_starting_at_once_on_an_empty_postgresql_database_both_come_up(
    tmp_path: Path,
) -> None:
    for attempt in range(TRIES):
        with fresh_database(str(attempt)) as url, ExitStack() as stack:
            doubles, stops = [], []
            for which in ("first", "second"):
                double = stack.enter_context(BotApiDouble(token=TEST_TOKEN))
                folder = tmp_path / f"{attempt}-{which}"
                folder.mkdir()
                stops.append(stack.enter_context(bot_process(double, folder, DATABASE_URL=url)))
                doubles.append(double)
            for double in doubles:
                double.push_message(ANA, "/start")
            for double in doubles:
                # Two interpreters import at once on the same cores, and one waits for
                # the other's migration: twice one start-up's allowance.
                greeting = double.wait_for_message(ANA.id, timeout=2 * STARTUP_LIMIT_SECONDS)
                assert greeting.text.startswith("Hi Ana")
            for stop in stops:
                stopped = stop()
                assert stopped.status == 0, stopped.output
                assert "Traceback" not in stopped.output
