"""A unit of plain statements carried to the database in one trip.

Each hot unit of work (a session's event, a timer's claim, a session's start) is a
plain generator of SQL written once: it yields its statements one by one and gets each
one's rows (or row count) back, so it may decide between them. On SQLite the whole unit
runs in one hop on aiosqlite's connection thread (every call through aiosqlite is a hop
of its own, ~90 µs); on PostgreSQL in one transaction of statements asyncpg prepares
once per connection (or with none, when each statement stands on its own). No ORM and
no statement building on the way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Generator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Query:
    """One statement with `?` placeholders; `rows` asks for the rows, else the row count.
    `lock` takes the rows' locks on PostgreSQL (SQLite's unit holds the write lock)."""

    sql: str
    args: tuple[Any, ...]
    rows: bool = False
    lock: bool = False


# A unit: yields its statements, gets each one's rows (or row count) back, returns its value.
Unit = Generator[Query, Any, T]


# -- what statements share -------------------------------------------------------------------
@cache
def marks(count: int, width: int = 1) -> str:
    """`count` placeholders, or `count` rows of `width` placeholders each."""
    row = "(" + ", ".join("?" * width) + ")" if width > 1 else "?"
    return ", ".join([row] * count)


def flat(rows: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    return tuple(value for row in rows for value in row)


def when(value: datetime | str | None) -> datetime | None:
    """An instant as either database hands it back, aware and in UTC."""
    # SQLite keeps SQLAlchemy's text form without an offset: UTC, as storage.types writes it.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def from_json(value: str | Any) -> Any:
    """A JSON column as either driver hands it back (text, or already decoded)."""
    return json.loads(value) if isinstance(value, str) else value


# -- the two drivers -------------------------------------------------------------------------
def _sqlite_value(value: Any) -> Any:
    # As SQLAlchemy stores them on SQLite (storage.types: UTC without an offset).
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _run_sqlite(connection: Any, unit: Unit[T], write: bool) -> T:
    """The whole unit, on the connection's thread (driver-level sqlite3, autocommit off:
    storage.db made it so, and BEGIN IMMEDIATE takes the write lock up front)."""
    connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        try:
            query = next(unit)
            while True:
                cursor = connection.execute(query.sql, tuple(map(_sqlite_value, query.args)))
                answer = cursor.fetchall() if query.rows else cursor.rowcount
                query = unit.send(answer)
        except StopIteration as done:
            value: T = done.value
        connection.execute("COMMIT")
        return value
    except BaseException:
        # A COMMIT that failed (a full disk) may leave the transaction open, and with it
        # the write lock: the connection goes on to the next unit.
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _postgres_sql(query: Query, known: dict[tuple[str, bool], str]) -> str:
    sql = known.get((query.sql, query.lock))
    if sql is None:
        parts = query.sql.split("?")
        sql = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
        sql = sql + " FOR UPDATE" if query.lock else sql
        known[(query.sql, query.lock)] = sql
    return sql


class OneTrip:
    """Runs units, one trip each, on the process's engine.

    `writer` is the process's SQLite write queue (storage.db): writing units take their
    turn in it like every other writer.

    A unit takes its driver connection straight from the engine's pool: a unit needs no
    `AsyncConnection` around it (no statement goes through SQLAlchemy), and making one
    costs twice what the checkout does. On SQLite the writing units, one at a time
    anyway behind `writer`, keep one connection for the process's life and check out
    nothing at all.
    """

    def __init__(self, engine: AsyncEngine, writer: asyncio.Lock | None) -> None:
        self._engine = engine
        self._writer = writer
        self.postgres = engine.dialect.name == "postgresql"
        self._postgres_sql: dict[tuple[str, bool], str] = {}
        self._writing: PoolProxiedConnection | None = None

    async def run(self, unit: Unit[T], *, write: bool, atomic: bool = True) -> T:
        """Carry `unit` out. `write`: it writes (on SQLite it queues for the write lock).
        `atomic` False: on PostgreSQL its statements need no transaction around them
        (each stands on its own, as a unit of one statement does), which saves the
        BEGIN and COMMIT trips; SQLite's unit is one transaction anyway."""
        if self.postgres:
            async with self._checkout() as pooled:
                driver: Any = pooled.driver_connection
                if not (write and atomic):
                    # At READ COMMITTED each statement reads its own snapshot, in a
                    # transaction or not: a unit whose statements stand alone saves the
                    # BEGIN and COMMIT trips.
                    return await self._drive_postgres(driver, unit)
                async with driver.transaction():
                    return await self._drive_postgres(driver, unit)
        if write and self._writer is not None:
            async with self._writer:
                if self._writing is None:
                    self._writing = await greenlet_spawn(self._engine.sync_engine.raw_connection)
                try:
                    return await self._run_sqlite(self._writing, unit, write)
                except (sqlite3.Error, ValueError):
                    # The database failed (or aiosqlite's thread is gone: ValueError): the
                    # next writer starts on a fresh connection rather than this one.
                    await self._drop_writing()
                    raise
        async with self._checkout() as pooled:
            return await self._run_sqlite(pooled, unit, write)

    async def close(self) -> None:
        """Hand the writers' connection back to the pool (before the engine is disposed)."""
        if self._writer is None:
            return
        async with self._writer:
            writing, self._writing = self._writing, None
            if writing is not None:
                await greenlet_spawn(writing.close)

    async def _drop_writing(self) -> None:
        writing, self._writing = self._writing, None
        if writing is None:
            return
        try:
            await greenlet_spawn(writing.invalidate)
        except Exception:
            log.debug("the writers' connection did not close cleanly", exc_info=True)

    @asynccontextmanager
    async def _checkout(self) -> AsyncIterator[PoolProxiedConnection]:
        """A connection of the pool's, for one unit."""
        pooled = await greenlet_spawn(self._engine.sync_engine.raw_connection)
        try:
            yield pooled
        finally:
            await greenlet_spawn(pooled.close)

    @staticmethod
    async def _run_sqlite(pooled: PoolProxiedConnection, unit: Unit[T], write: bool) -> T:
        driver = pooled.driver_connection
        assert driver is not None
        # aiosqlite runs every call on the connection's own thread through `_execute`;
        # handing it the whole unit makes the unit one hop instead of one a call.
        done: T = await driver._execute(_run_sqlite, driver._conn, unit, write)
        return done

    async def _drive_postgres(self, driver: Any, unit: Unit[T]) -> T:
        try:
            query = next(unit)
            while True:
                sql = _postgres_sql(query, self._postgres_sql)
                if query.rows:
                    answer: Any = await driver.fetch(sql, *query.args)
                else:
                    status = await driver.execute(sql, *query.args)
                    answer = int(status.rsplit(" ", 1)[-1])
                query = unit.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
