"""The engine, the session factory and the unit of work, made once per process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)

from storage.migrate import upgrade_to_head
from storage.one_trip import OneTrip
from storage.session_start import SessionStarts
from storage.session_steps import SessionSteps
from storage.timer_steps import TimerSteps
from storage.unit_of_work import UnitOfWork
from storage.unusable import DatabaseUnusable, cause_of

# Any fixed number will do, as long as nothing else in the database uses it: every
# process that migrates takes this PostgreSQL advisory lock first, so two processes
# starting at once on an empty database do not both create the first tables.
_MIGRATION_LOCK = 0x70616972_73747265  # "pairstre" in ASCII
# How long a SQLite connection waits for another connection's write lock before it
# fails with "database is locked". Within one process writers queue on
# `Database._writer` instead, so this only guards against another process on the file.
SQLITE_BUSY_TIMEOUT = timedelta(seconds=5)
WAL_RETRY = timedelta(milliseconds=50)


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers go on while one writer commits; foreign keys are off by default
    # in SQLite; the busy timeout turns a momentary lock into a short wait, not an error.
    # The driver must not open transactions itself: `_begin_immediate` does it.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT.total_seconds() * 1000)}")
    _to_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _to_wal(cursor: Any) -> None:
    # Switching a new file to WAL needs it to itself, and SQLite answers "database is
    # locked" at once, without the busy timeout, while another process starting on the
    # same new file holds it (two workers' first start): try again for the busy timeout.
    # This blocks the loop for those moments, at a connection's start only.
    tries = int(SQLITE_BUSY_TIMEOUT / WAL_RETRY)
    for attempt in range(tries):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as error:
            if "locked" not in str(error) or attempt == tries - 1:
                raise
            time.sleep(WAL_RETRY.total_seconds())


_READ_ONLY = "pairstretch_read_only"


def _begin_immediate(connection: Any) -> None:
    # A unit of work reads, then writes. In WAL mode a deferred transaction that
    # read an older snapshot fails at once with "database is locked" when it tries to
    # write after another connection committed, and the busy timeout cannot help.
    # Taking the write lock up front turns that failure into a short, orderly wait.
    # A unit that only reads needs no lock at all: WAL gives it a snapshot.
    read_only = connection.get_execution_options().get(_READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Database:
    """One per process: created in `post_init`, disposed in `post_shutdown`."""

    def __init__(self, engine: AsyncEngine, url: str = "") -> None:
        self.engine = engine
        self._url = url or engine.url.render_as_string(hide_password=True)
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        # SQLite takes one writer at a time, and a connection waiting for the write lock
        # polls for it with growing sleeps: under a stream of short writers (50 sessions'
        # taps, timers and deliveries) a waiter can miss every free moment for the whole
        # busy timeout and fail, losing a tap or a delivery note. Queueing the process's
        # writers here, first come first served, makes them wait their turn instead.
        self._writer = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        # The hot units, one trip each (storage/one_trip.py).
        self._trip = trip = OneTrip(engine, self._writer)
        self.steps = SessionSteps(trip)
        self.starts = SessionStarts(trip)
        self.timers = TimerSteps(trip)

    @classmethod
    def connect(cls, url: str, *, echo: bool = False) -> Database:
        """Make the engine; a SQLite file's folder is created on first use.

        Raises `DatabaseUnusable` when that folder cannot be made.
        """
        if url.startswith("sqlite"):
            path = url.split(":///", 1)[1].split("?", 1)[0] if ":///" in url else ""
            if path and path != ":memory:":
                try:
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                except OSError as error:
                    raise DatabaseUnusable(
                        url, f"cannot create the folder of the SQLite file ({error})"
                    ) from error
        # Every unit of work ends its own transaction (commit, or the session's rollback
        # on close), so the pool's extra rollback on return would only cost a round trip.
        engine = create_async_engine(url, echo=echo, pool_reset_on_return=None)
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _tune_sqlite)
            event.listen(engine.sync_engine, "begin", _begin_immediate)
        return cls(engine, url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def migrate(self) -> None:
        """Bring the schema up to the newest Alembic revision, and prove it can be written.

        Raises `DatabaseUnusable`, with the driver's words for the cause, when the
        database cannot be reached, opened, migrated or written: a read-only SQLite
        file would otherwise migrate (nothing to do) and then fail every update.
        """
        path = self._sqlite_path()
        if path is not None and path.is_dir():
            # Said before SQLite tries: aiosqlite leaves the thread of a failed connect
            # running, and it dies noisily when it outlives the event loop.
            raise DatabaseUnusable(self._url, f"{path} is a folder, not a SQLite file")
        try:
            async with self.engine.begin() as connection:
                await self._take_migration_lock(connection)
                await connection.run_sync(upgrade_to_head)
            await self._prove_writable()
        except (SQLAlchemyError, OSError) as error:
            raise DatabaseUnusable(self._url, cause_of(error)) from error

    async def _take_migration_lock(self, connection: AsyncConnection) -> None:
        # Held until this transaction ends; the second process then finds the schema
        # at head and has nothing to do. SQLite needs none: BEGIN IMMEDIATE serialises.
        if self.dialect == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
            )

    async def _prove_writable(self) -> None:
        # A write that changes nothing, rolled back: it fails the way every update would.
        async with self.engine.connect() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
            await connection.rollback()

    def _sqlite_path(self) -> Path | None:
        if self.dialect != "sqlite" or ":///" not in self._url:
            return None
        path = self._url.split(":///", 1)[1].split("?", 1)[0]
        return Path(path) if path and path != ":memory:" else None

    @asynccontextmanager
    async def unit(self, *, read_only: bool = False) -> AsyncIterator[UnitOfWork]:
        """One unit of work: the caller commits; leaving without a commit rolls back.

        `read_only` units must not write: on SQLite they read a snapshot without
        queueing behind writers (a write there would fail with "database is locked").
        """
        async with AsyncExitStack() as stack:
            if not read_only and self._writer is not None:
                await stack.enter_async_context(self._writer)
            session = await stack.enter_async_context(self._sessions())
            if read_only:
                await session.connection(execution_options={_READ_ONLY: True})
            yield UnitOfWork(session)

    async def dispose(self) -> None:
        await self._trip.close()
        await self.engine.dispose()
