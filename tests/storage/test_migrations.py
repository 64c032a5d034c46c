"""The migrations walk up, down and up again, and match the models."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from storage.db import Database
from storage.migrate import alembic_config, downgrade_to, upgrade_to
from storage.models import Base


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def test_every_revision_walks_up_down_and_up_again(database_url: str) -> None:
    database = Database.connect(database_url)
    try:
        async with database.engine.begin() as connection:
            for revision in _revisions():
                await connection.run_sync(upgrade_to, revision)
                assert await connection.run_sync(_current) == revision
            assert await connection.run_sync(_tables) == set(Base.metadata.tables)

            await connection.run_sync(downgrade_to, "base")
            assert await connection.run_sync(_tables) == set()
            assert await connection.run_sync(_current) is None

            await connection.run_sync(upgrade_to, "head")
            assert await connection.run_sync(_current) == _revisions()[-1]
    finally:
        await database.dispose()


async def test_the_migrated_schema_matches_the_models(db: Database) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return list(compare_metadata(context, Base.metadata))

    async with db.engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_migrating_twice_changes_nothing(db: Database) -> None:
    await db.migrate()
    async with db.engine.connect() as connection:
        assert await connection.run_sync(_current) == _revisions()[-1]


async def test_two_processes_migrating_an_empty_database_at_once_both_succeed(
    database_url: str,
) -> None:
    # Two engines are two processes as far as the database can tell. Without a lock on
    # PostgreSQL both see no schema, both create the first tables, and one of them dies
    # on a unique violation in the catalog.
    first, second = Database.connect(database_url), Database.connect(database_url)
    try:
        # A guard, not a measurement: before the lock, this could also hang for good.
        await asyncio.wait_for(asyncio.gather(first.migrate(), second.migrate()), 60)
        async with first.engine.connect() as connection:
            assert await connection.run_sync(_tables) == set(Base.metadata.tables)
            assert await connection.run_sync(_current) == _revisions()[-1]
    finally:
        await first.dispose()
        await second.dispose()
