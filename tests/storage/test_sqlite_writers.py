"""SQLite has one writer at a time: the process's writers queue for it, none gives up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from storage.db import SQLITE_BUSY_TIMEOUT, Database

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
