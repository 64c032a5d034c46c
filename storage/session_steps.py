"""A session's event as one unit of work with one trip to the database.

Every tap and timer of a running session reads its row, saves the engine's next state with
a compare-and-set, owes the phones their cards and writes the session's timers; after the
sends it notes what the phones show. Through the ORM that was dozens of statement builds
and, on SQLite, a hop to aiosqlite's thread for every cursor, execute and fetch (63 for
the second Ready). Here each unit is a plain generator of SQL written once: on SQLite the
whole unit runs in one hop on the connection's own thread, on PostgreSQL in one
transaction of statements asyncpg prepares once per connection. The guarantees stay those
of the repositories: the compare-and-set on `revision`, the outbox in the transaction of
the state, timers as rows any worker may claim.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.records import (
    CardRecord,
    LeftoverRecord,
    ResultRow,
    SessionChange,
    SessionRecord,
    TimerRecord,
)
from storage.repositories.outbox import OWED, SENT, UNREACHABLE

T = TypeVar("T")


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


@dataclass(frozen=True, slots=True)
class StepWrite:
    """What one event writes. `change` None: the state stays, only the timers move."""

    change: SessionChange | None
    owed: Sequence[int] = ()  # people owed the card of `change.version`
    owed_kind: str = ""
    drop_lanes: Sequence[str] = ()
    timers: Sequence[TimerRecord] = ()
    acknowledged: int | None = None  # who tapped Got it under the safety note
    result: ResultRow | None = None
    # Given the phones' cards as read in the unit, whose this step edits in place: they
    # are claimed for the saved revision (see `SessionRepository.claim_cards`). None: the
    # step touches no card, and they are not read.
    claim: Callable[[Sequence[CardRecord]], Sequence[int]] | None = None


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """The row as read (None: no such session), what was decided, and whether it was
    saved (False with a write: another writer came first; read again and decide again)."""

    record: SessionRecord | None
    write: StepWrite | None
    saved: bool
    cards: tuple[CardRecord, ...] = ()  # the phones' cards, when the step asked for them
    claimed: tuple[int, ...] = ()  # whose card edits were claimed for the new revision


# What the engine decides from the row read; runs inside the unit (on SQLite, on the
# database's thread), so it must be pure: it may raise to refuse, and nothing is written.
Decide = Callable[[SessionRecord], StepWrite | None]

_SESSION = (
    "SELECT id, pair_id, routine_id, seat_a_id, seat_b_id, origin_chat_id, phase, live,"
    " version, revision, deadline, options, state, created_at"
    " FROM stretch_sessions WHERE id = ?"
)
_SAVE = (
    "UPDATE stretch_sessions SET phase = ?, live = ?, version = ?, deadline = ?, state = ?,"
    " revision = revision + 1, updated_at = ? WHERE id = ? AND revision = ?"
)


# Statements naming several rows at once, one text per row count (at most a few: two
# phones, a few timer lanes), built the first time and kept: a text asyncpg has seen is a
# prepared statement it reuses.
@cache
def _marks(count: int, width: int = 1) -> str:
    row = "(" + ", ".join("?" * width) + ")" if width > 1 else "?"
    return ", ".join([row] * count)


@cache
def _owe(count: int) -> str:
    return (
        "INSERT INTO owed_cards (session_id, user_id, version, kind, status, owed_at,"
        f" settled_at) VALUES {_marks(count, 7)} ON CONFLICT (session_id, user_id) DO UPDATE"
        " SET version = excluded.version, kind = excluded.kind, status = excluded.status,"
        " owed_at = excluded.owed_at, settled_at = NULL"
    )


@cache
def _settle(count: int) -> str:
    return (
        "UPDATE owed_cards SET status = ?, settled_at = ?"
        f" WHERE session_id = ? AND version = ? AND user_id IN ({_marks(count)})"
    )


@cache
def _set_timers(count: int) -> str:
    return (
        "INSERT INTO session_timers (session_id, lane, kind, version, due_at, available_at,"
        f" claimed_by, attempt, later) VALUES {_marks(count, 9)}"
        " ON CONFLICT (session_id, lane) DO UPDATE SET kind = excluded.kind,"
        " version = excluded.version, due_at = excluded.due_at,"
        " available_at = excluded.available_at, claimed_by = excluded.claimed_by,"
        " attempt = excluded.attempt, later = excluded.later"
    )


@cache
def _drop_timers(count: int) -> str:
    return f"DELETE FROM session_timers WHERE session_id = ? AND lane IN ({_marks(count)})"


@cache
def _new_cards(count: int) -> str:
    return (
        "INSERT INTO session_cards (session_id, user_id, chat_id, message_id, version, kind)"
        f" VALUES {_marks(count, 6)} ON CONFLICT (session_id, user_id) DO NOTHING"
        " RETURNING user_id"
    )


@cache
def _noted_cards(count: int) -> str:
    return (
        "SELECT user_id, chat_id, message_id, version FROM session_cards"
        f" WHERE session_id = ? AND user_id IN ({_marks(count)})"
    )


@cache
def _claim_cards(count: int) -> str:
    # Until the edit is marked landed, `landed` stays below the claimed revision: an edit
    # claimed after this one waits for it. A newer claim already there is left alone.
    return (
        "UPDATE session_cards SET shows = ?,"
        " landed = CASE WHEN landed < ? THEN landed ELSE ? END"
        f" WHERE session_id = ? AND shows <= ? AND user_id IN ({_marks(count)})"
    )


@cache
def _take_leftovers(count: int) -> str:
    return (
        "DELETE FROM session_leftovers"
        f" WHERE session_id = ? AND user_id IN ({_marks(count)})"
        " RETURNING user_id, chat_id, message_id"
    )


# The cards' row of `version` or older: a newer step's cards (owed meanwhile) keep theirs.
_RETRY_CARDS = _set_timers(1) + " WHERE session_timers.version <= excluded.version"
_DROP_CARDS = "DELETE FROM session_timers WHERE session_id = ? AND lane = ? AND version <= ?"
_ACKNOWLEDGE = (
    "UPDATE users SET safety_acknowledged_at = ?, updated_at = ?"
    " WHERE id = ? AND safety_acknowledged_at IS NULL"
)
_UNREACHABLE = "UPDATE users SET reachable = ?, updated_at = ? WHERE id = ?"
_RESULT = (
    "INSERT INTO session_results (session_id, pair_id, routine_id, end_reason, holds_done,"
    " exercises_done, seconds_stretched, local_date, ended_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_id) DO NOTHING"
)
_CARDS = (
    "SELECT user_id, chat_id, message_id, version, kind, shows, landed FROM session_cards"
    " WHERE session_id = ? ORDER BY user_id"
)
# Edits claimed for the old message no longer matter to a new one (their worker may have
# died before marking them landed): none is waited for. The right-hand side reads the
# row as it was.
_MOVE_CARD = (
    "UPDATE session_cards SET chat_id = ?, message_id = ?, version = ?, kind = ?,"
    " landed = CASE WHEN chat_id = ? AND message_id = ? THEN landed ELSE shows END"
    " WHERE session_id = ? AND user_id = ?"
)


# -- values as each database hands them back -----------------------------------------------
def _when(value: datetime | str | None) -> datetime | None:
    # SQLite keeps SQLAlchemy's text form without an offset: UTC, as storage.types writes it.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json(value: str | dict[str, Any]) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


def _session(row: Sequence[Any]) -> SessionRecord:
    created_at = _when(row[13])
    assert created_at is not None
    return SessionRecord(
        id=row[0],
        pair_id=row[1],
        routine_id=row[2],
        seats=(row[3], row[4]),
        origin_chat_id=row[5],
        phase=row[6],
        live=bool(row[7]),
        version=row[8],
        revision=row[9],
        deadline=_when(row[10]),
        options=_json(row[11]),
        state=_json(row[12]),
        created_at=created_at,
    )


# -- the units ------------------------------------------------------------------------------
def _read(session_id: int) -> Unit[SessionRecord | None]:
    rows = yield Query(_SESSION, (session_id,), rows=True)
    return _session(rows[0]) if rows else None


def _read_cards(session_id: int) -> Unit[list[CardRecord]]:
    rows = yield Query(_CARDS, (session_id,), rows=True)
    return [CardRecord(*row) for row in rows]


def _read_with_cards(session_id: int) -> Unit[tuple[SessionRecord | None, list[CardRecord]]]:
    record = yield from _read(session_id)
    cards = [] if record is None else (yield from _read_cards(session_id))
    return record, cards


def _step(session_id: int, decide: Decide, now: datetime) -> Unit[StepOutcome]:
    record = yield from _read(session_id)
    if record is None:
        return StepOutcome(None, None, False)
    write = decide(record)
    if write is None:
        return StepOutcome(record, None, False)
    change = write.change
    if change is not None:
        saved = yield Query(
            _SAVE,
            (
                change.phase,
                change.live,
                change.version,
                change.deadline,
                json.dumps(change.state),
                now,
                session_id,
                record.revision,
            ),
        )
        if not saved:
            return StepOutcome(record, write, False)
        if write.owed:
            rows = [
                (session_id, user_id, change.version, write.owed_kind, OWED, now, None)
                for user_id in write.owed
            ]
            yield Query(_owe(len(rows)), _flat(rows))
        if write.acknowledged is not None:
            yield Query(_ACKNOWLEDGE, (now, now, write.acknowledged))
        if write.result is not None:
            yield from _record_result(session_id, write.result)
    if write.drop_lanes:
        lanes = tuple(write.drop_lanes)
        yield Query(_drop_timers(len(lanes)), (session_id, *lanes))
    yield from _arm(write.timers)
    if change is None or write.claim is None:
        return StepOutcome(record, write, True)
    cards = yield from _read_cards(session_id)
    claimed = tuple(write.claim(cards))
    if claimed:
        revision = record.revision + 1
        yield Query(
            _claim_cards(len(claimed)),
            (revision, revision, revision - 1, session_id, revision, *claimed),
        )
    return StepOutcome(record, write, True, tuple(cards), claimed)


def _record_result(session_id: int, result: ResultRow) -> Unit[None]:
    yield Query(
        _RESULT,
        (
            session_id,
            result.pair_id,
            result.routine_id,
            result.end_reason,
            result.holds_done,
            result.exercises_done,
            result.seconds_stretched,
            result.local_date,
            result.ended_at,
        ),
    )


def _flat(rows: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    return tuple(value for row in rows for value in row)


def _timer_rows(timers: Sequence[TimerRecord]) -> Iterator[tuple[Any, ...]]:
    for timer in timers:
        yield (
            timer.session_id,
            timer.lane,
            timer.kind,
            timer.version,
            timer.due_at,
            timer.available_at or timer.due_at,
            timer.claimed_by,
            timer.attempt,
            json.dumps([at.isoformat() for at in timer.later]),
        )


def _arm(timers: Sequence[TimerRecord]) -> Unit[None]:
    """Arm each timer in its lane, replacing whatever the lane held (and its claim)."""
    if timers:
        yield Query(_set_timers(len(timers)), _flat(list(_timer_rows(timers))))


def _note_cards(session_id: int, cards: Sequence[CardRecord]) -> Unit[list[LeftoverRecord]]:
    """As `SessionRepository.note_cards`: the cards replaced, to be deleted; a slow send of
    an older step never replaces a newer card (that message is handed back itself)."""
    rows = [
        (session_id, card.user_id, card.chat_id, card.message_id, card.version, card.kind)
        for card in cards
    ]
    # Rows that do not exist yet are simply written; RETURNING says which.
    inserted = yield Query(_new_cards(len(rows)), _flat(rows), rows=True)
    others = [card for card in cards if card.user_id not in {row[0] for row in inserted}]
    if not others:
        return []
    noted = yield Query(
        _noted_cards(len(others)),
        (session_id, *(card.user_id for card in others)),
        rows=True,
        lock=True,
    )
    shown = {row[0]: (row[1], row[2], row[3]) for row in noted}
    leftovers: list[LeftoverRecord] = []
    for card in others:
        chat_id, message_id, version = shown[card.user_id]
        if version > card.version:
            # A late card of an older step goes, unless a newer step edited that same
            # message: then it is the phone's card.
            if (chat_id, message_id) != (card.chat_id, card.message_id):
                leftovers.append(
                    LeftoverRecord(session_id, card.user_id, card.chat_id, card.message_id)
                )
            continue
        if (chat_id, message_id) != (card.chat_id, card.message_id):
            leftovers.append(LeftoverRecord(session_id, card.user_id, chat_id, message_id))
        yield Query(
            _MOVE_CARD,
            (
                card.chat_id,
                card.message_id,
                card.version,
                card.kind,
                card.chat_id,
                card.message_id,
                session_id,
                card.user_id,
            ),
        )
    return leftovers


def _taken_leftovers(session_id: int, user_ids: Sequence[int]) -> Unit[list[LeftoverRecord]]:
    rows = yield Query(_take_leftovers(len(user_ids)), (session_id, *user_ids), rows=True)
    return sorted(
        (LeftoverRecord(session_id, *row) for row in rows),
        key=lambda leftover: (leftover.chat_id, leftover.message_id),
    )


def _noted(session_id: int, cards: Sequence[CardRecord]) -> Unit[list[LeftoverRecord]]:
    """Note `cards`; what those phones should lose now: the cards replaced, and the
    leftovers of earlier deletes that failed, taken out of the table."""
    replaced = yield from _note_cards(session_id, cards)
    earlier = yield from _taken_leftovers(session_id, [card.user_id for card in cards])
    return replaced + earlier


def _delivered(
    session_id: int,
    version: int,
    shown: Sequence[CardRecord],
    unreachable: Sequence[int],
    retry: TimerRecord | None,
    cards_lane: str,
    now: datetime,
) -> Unit[list[LeftoverRecord]]:
    leftovers = (yield from _noted(session_id, shown)) if shown else []
    for status, user_ids in ((SENT, [card.user_id for card in shown]), (UNREACHABLE, unreachable)):
        if user_ids:
            yield Query(_settle(len(user_ids)), (status, now, session_id, version, *user_ids))
    for user_id in unreachable:
        yield Query(_UNREACHABLE, (False, now, user_id))
    # A newer step's cards (owed meanwhile) keep their own row.
    if retry is not None:
        yield Query(_RETRY_CARDS, next(_timer_rows([retry])))
    else:
        yield Query(_DROP_CARDS, (session_id, cards_lane, version))
    return leftovers


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
        query = next(unit)
        while True:
            cursor = connection.execute(query.sql, tuple(map(_sqlite_value, query.args)))
            answer = cursor.fetchall() if query.rows else cursor.rowcount
            query = unit.send(answer)
    except StopIteration as done:
        connection.execute("COMMIT")
        return done.value  # type: ignore[no-any-return]
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _postgres_sql(query: Query, cache: dict[tuple[str, bool], str]) -> str:
    sql = cache.get((query.sql, query.lock))
    if sql is None:
        parts = query.sql.split("?")
        sql = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
        sql = sql + " FOR UPDATE" if query.lock else sql
        cache[(query.sql, query.lock)] = sql
    return sql


class SessionSteps:
    """The session units of `bot.services.sessions` that run on every event.

    `writer` is the process's SQLite write queue (storage.db): these units take their
    turn in it like every other writer.
    """

    def __init__(self, engine: AsyncEngine, writer: asyncio.Lock | None) -> None:
        self._engine = engine
        self._writer = writer
        self._sqlite = engine.dialect.name == "sqlite"
        self._postgres_sql: dict[tuple[str, bool], str] = {}

    async def read(self, session_id: int) -> SessionRecord | None:
        return await self._run(_read(session_id), write=False)

    async def cards(self, session_id: int) -> list[CardRecord]:
        return await self._run(_read_cards(session_id), write=False)

    async def read_with_cards(
        self, session_id: int
    ) -> tuple[SessionRecord | None, list[CardRecord]]:
        return await self._run(_read_with_cards(session_id), write=False)

    async def step(self, session_id: int, decide: Decide, now: datetime) -> StepOutcome:
        """Read the session, let `decide` say what to write, and write it, only if nobody
        wrote the session since it was read (else `saved` is False, nothing written)."""
        return await self._run(_step(session_id, decide, now), write=True)

    async def note_cards(
        self, session_id: int, cards: Sequence[CardRecord]
    ) -> list[LeftoverRecord]:
        """Note the message each phone shows now; the messages they should lose come back
        (the cards replaced, and the leftovers of earlier deletes, out of the table)."""
        return await self._run(_noted(session_id, cards), write=True)

    async def delivered(
        self,
        session_id: int,
        version: int,
        shown: Sequence[CardRecord],
        unreachable: Sequence[int],
        retry: TimerRecord | None,
        cards_lane: str,
        now: datetime,
    ) -> list[LeftoverRecord]:
        """What Telegram did with the cards of `version` (see `sessions.cards_delivered`):
        the shown ones noted, the outbox settled, the cards' retry row set or dropped. The
        messages those phones should lose come back."""
        unit = _delivered(session_id, version, shown, unreachable, retry, cards_lane, now)
        return await self._run(unit, write=True)

    async def _run(self, unit: Unit[T], *, write: bool) -> T:
        if not self._sqlite:
            return await self._run_postgres(unit, write)
        if write and self._writer is not None:
            async with self._writer:
                return await self._run_sqlite(unit, write)
        return await self._run_sqlite(unit, write)

    async def _run_sqlite(self, unit: Unit[T], write: bool) -> T:
        async with self._engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            # aiosqlite runs every call on the connection's own thread through `_execute`;
            # handing it the whole unit makes the unit one hop instead of one a call.
            done: T = await driver._execute(_run_sqlite, driver._conn, unit, write)
            return done

    async def _run_postgres(self, unit: Unit[T], write: bool) -> T:
        async with self._engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            if not write:
                # At READ COMMITTED each statement reads its own snapshot, in a
                # transaction or not: a reading unit saves the BEGIN and COMMIT trips.
                return await self._drive_postgres(driver, unit)
            async with driver.transaction():
                return await self._drive_postgres(driver, unit)

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
