"""SQLite has one writer at a time: the process's writers queue for it, none gives up."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.db import SQLITE_BUSY_TIMEOUT, Database
from storage.one_trip import OneTrip, Query, Unit

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def test_a_writer_queued_behind_another_longer_than_the_busy_timeout_still_writes(
    tmp_path: Path,
) -> None:
    # As in the e2e run with 50 sessions: a tap's unit of work waited behind the other
    # writers of the process for longer than SQLite's busy timeout, failed with
    # "database is locked", and the tap was lost, so its session stalled until the
    # idle limit. Here one writer holds the lock that long, in plain sight.
    db = Database.connect(f"sqlite+aiosqlite:///{tmp_path / 'writers.sqlite3'}")
    await db.migrate()
    try:
        async with db.unit() as first:
            await first.users.remember(1, "Ana", None, NOW, reachable=True)

            async def second_writer() -> None:
                async with db.unit() as second:
                    await second.users.remember(2, "Ben", None, NOW, reachable=True)
                    await second.commit()

            waiting = asyncio.create_task(second_writer())
            await asyncio.sleep(SQLITE_BUSY_TIMEOUT.total_seconds() + 1)
            assert not waiting.done()
            await first.commit()
        await waiting
        async with db.unit(read_only=True) as unit:
            assert set(await unit.users.get_many([1, 2])) == {1, 2}
    finally:
        await db.dispose()


async def test_a_unit_whose_commit_fails_leaves_the_writers_connection_usable(
    tmp_path: Path,
) -> None:
    # The writing units share one connection for the process's life: a COMMIT that
    # fails (here a foreign key checked only at COMMIT; a full disk does the same) must
    # not leave its transaction open on it, or every later writer would fail.
    db = Database.connect(f"sqlite+aiosqlite:///{tmp_path / 'writers.sqlite3'}")
    await db.migrate()
    trip = OneTrip(db.engine, asyncio.Lock())

    def orphan_timer() -> Unit[None]:
        yield Query("PRAGMA defer_foreign_keys = ON", ())
        yield Query(
            "INSERT INTO session_timers (session_id, lane, kind, version, due_at,"
            " available_at, claimed_by, attempt, later) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (999, "step", "hold", 1, NOW, NOW, None, 0, "[]"),
        )

    def timers() -> Unit[int]:
        rows = yield Query("SELECT count(*) FROM session_timers", (), rows=True)
        return int(rows[0][0])

    try:
        with pytest.raises(sqlite3.IntegrityError):
            await trip.run(orphan_timer(), write=True)
        assert await trip.run(timers(), write=True) == 0
        async with db.unit() as unit:
            await unit.users.remember(1, "Ana", None, NOW, reachable=True)
            await unit.commit()
    finally:
        await trip.close()
        await db.dispose()
