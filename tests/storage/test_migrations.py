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


_ROWS_AT_0007 = (
    "INSERT INTO users (id, first_name, reachable, created_at, updated_at) VALUES "
    "(1, 'Ana', true, '2026-01-01 00:00:00', '2026-01-01 00:00:00'), "
    "(2, 'Ben', true, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
    "INSERT INTO pairs (id, user_low_id, user_high_id, timezone, swap_mode, created_at) "
    "VALUES (1, 1, 2, 'UTC', 'one-way', '2026-01-01 00:00:00')",
    "INSERT INTO reminder_slots (id, pair_id, local_time, weekdays, next_due_at, created_at) "
    "VALUES (1, 1, '07:00:00', 127, '2026-01-02 07:00:00', '2026-01-01 00:00:00')",
    "INSERT INTO reminder_deliveries "
    "(id, pair_id, slot_id, local_date, due_at, claimed_at, status) VALUES "
    "(1, 1, 1, '2026-01-01', '2026-01-01 07:00:00', '2026-01-01 07:00:00', 'claimed')",
    "INSERT INTO reminder_recipients "
    "(delivery_id, user_id, again, status, attempts, claimed_at, message_id) VALUES "
    "(1, 1, false, 'sent', 0, '2026-01-01 07:00:00', 5), "
    "(1, 2, false, 'waiting', 1, '2026-01-01 07:00:00', NULL)",
)


async def test_the_settings_and_recap_migration_keeps_every_pair_reminder_and_copy(
    database_url: str,
) -> None:
    """On SQLite, changing a column copies its table; a cascade must not take the copies."""
    database = Database.connect(database_url)

    def copies(connection: Connection) -> list[tuple[object, ...]]:
        query = "SELECT delivery_id, user_id, status FROM reminder_recipients ORDER BY user_id"
        return [tuple(row) for row in connection.exec_driver_sql(query)]

    def pair(connection: Connection) -> tuple[object, ...]:
        query = "SELECT swap_mode, first_receiver, weekly_recap FROM pairs"
        [row] = connection.exec_driver_sql(query).all()
        return tuple(row)

    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(upgrade_to, "0007_pair_settings")
            for statement in _ROWS_AT_0007:
                await connection.exec_driver_sql(statement)
            before = await connection.run_sync(copies)

            await connection.run_sync(upgrade_to, "0009_settings_recap")
            assert await connection.run_sync(copies) == before
            assert await connection.run_sync(pair) == ("one-way", "starter", True)
            await connection.run_sync(downgrade_to, "0007_pair_settings")
            assert await connection.run_sync(copies) == before
    finally:
        await database.dispose()
