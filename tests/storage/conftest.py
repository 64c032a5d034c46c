"""A migrated database per test, on each backend the run has."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage.db import Database


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database.connect(database_url)
    await database.migrate()
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def other_worker(db: Database, database_url: str) -> AsyncIterator[Database]:
    """A second process on the same database: its own engine, its own connections."""
    other = Database.connect(database_url)
    try:
        yield other
    finally:
        await other.dispose()
