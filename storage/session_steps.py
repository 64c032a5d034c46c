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

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from storage.one_trip import OneTrip, Query, Unit, flat, from_json, marks, when
from storage.records import (
    CardRecord,
    DeliveryNote,
    LeftoverRecord,
    ResultRow,
    SessionChange,
    SessionRecord,
    TimerRecord,
)
from storage.repositories.outbox import OWED, SENT, UNREACHABLE


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
    # are claimed for the saved revision (see `SessionSteps.claim_cards`). None: the
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

# A session row's columns, in the order `session_record` reads them.
SESSION_COLUMNS = (
    "id, pair_id, routine_id, seat_a_id, seat_b_id, origin_chat_id, phase, live,"
    " version, revision, deadline, options, state, created_at"
)
_SESSION = f"SELECT {SESSION_COLUMNS} FROM stretch_sessions WHERE id = ?"
_SAVE = (
    "UPDATE stretch_sessions SET phase = ?, live = ?, version = ?, deadline = ?, state = ?,"
    " revision = revision + 1, updated_at = ? WHERE id = ? AND revision = ?"
)


# Statements naming several rows at once, one text per row count (at most a few: two
# phones, a few timer lanes), built the first time and kept: a text asyncpg has seen is a
# prepared statement it reuses.
@cache
def _owe(count: int) -> str:
    return f"{_OWE_INTO} VALUES {marks(count, 7)}{_OWE_UPSERT}"


# An upsert's two halves, around its rows: `_owe` and `_set_timers` give them as values,
# a step on PostgreSQL as a guarded select (`_step_statement`).
_OWE_INTO = (
    "INSERT INTO owed_cards (session_id, user_id, version, kind, status, owed_at, settled_at)"
)
_OWE_UPSERT = (
    " ON CONFLICT (session_id, user_id) DO UPDATE"
    " SET version = excluded.version, kind = excluded.kind, status = excluded.status,"
    " owed_at = excluded.owed_at, settled_at = NULL"
)
_TIMERS_INTO = (
    "INSERT INTO session_timers (session_id, lane, kind, version, due_at, available_at,"
    " claimed_by, attempt, later)"
)
_TIMERS_UPSERT = (
    " ON CONFLICT (session_id, lane) DO UPDATE SET kind = excluded.kind,"
    " version = excluded.version, due_at = excluded.due_at,"
    " available_at = excluded.available_at, claimed_by = excluded.claimed_by,"
    " attempt = excluded.attempt, later = excluded.later"
)
_RESULT_INTO = (
    "INSERT INTO session_results (session_id, pair_id, routine_id, end_reason, holds_done,"
    " exercises_done, seconds_stretched, local_date, ended_at)"
)
_RESULT_UPSERT = " ON CONFLICT (session_id) DO NOTHING"


@cache
def _settle(count: int) -> str:
    return (
        "UPDATE owed_cards SET status = ?, settled_at = ?"
        f" WHERE session_id = ? AND version = ? AND user_id IN ({marks(count)})"
    )


@cache
def _unreachable(count: int) -> str:
    return f"UPDATE users SET reachable = ?, updated_at = ? WHERE id IN ({marks(count)})"


@cache
def _set_timers(count: int) -> str:
    return f"{_TIMERS_INTO} VALUES {marks(count, 9)}{_TIMERS_UPSERT}"


@cache
def _drop_timers(count: int) -> str:
    return f"DELETE FROM session_timers WHERE session_id = ? AND lane IN ({marks(count)})"


@cache
def _new_cards(count: int) -> str:
    return (
        "INSERT INTO session_cards (session_id, user_id, chat_id, message_id, version, kind)"
        f" VALUES {marks(count, 6)} ON CONFLICT (session_id, user_id) DO NOTHING"
        " RETURNING user_id"
    )


@cache
def _noted_cards(count: int) -> str:
    return (
        "SELECT user_id, chat_id, message_id, version FROM session_cards"
        f" WHERE session_id = ? AND user_id IN ({marks(count)})"
    )


@cache
def _claim_cards(count: int) -> str:
    # Until the edit is marked landed, `landed` stays below the claimed revision: an edit
    # claimed after this one waits for it. A newer claim already there is left alone.
    return (
        "UPDATE session_cards SET shows = ?,"
        " landed = CASE WHEN landed < ? THEN landed ELSE ? END"
        f" WHERE session_id = ? AND shows <= ? AND user_id IN ({marks(count)})"
    )


@cache
def _take_leftovers(count: int) -> str:
    return (
        "DELETE FROM session_leftovers"
        f" WHERE session_id = ? AND user_id IN ({marks(count)})"
        " RETURNING user_id, chat_id, message_id"
    )


# The cards' row of `version` or older: a newer step's cards (owed meanwhile) keep theirs.
_OLDER_CARDS_ONLY = " WHERE session_timers.version <= excluded.version"
_RETRY_CARDS = _set_timers(1) + _OLDER_CARDS_ONLY
_DROP_CARDS = "DELETE FROM session_timers WHERE session_id = ? AND lane = ? AND version <= ?"
_ACKNOWLEDGE = (
    "UPDATE users SET safety_acknowledged_at = ?, updated_at = ?"
    " WHERE id = ? AND safety_acknowledged_at IS NULL"
)
_RESULT = f"{_RESULT_INTO} VALUES {marks(1, 9)}{_RESULT_UPSERT}"
_CARD_COLUMNS = "user_id, chat_id, message_id, version, kind, shows, landed"
_CARDS = f"SELECT {_CARD_COLUMNS} FROM session_cards WHERE session_id = ? ORDER BY user_id"
# Edits claimed for the old message no longer matter to a new one (their worker may have
# died before marking them landed): none is waited for. The right-hand side reads the
# row as it was.
_MOVE_CARD = (
    "UPDATE session_cards SET chat_id = ?, message_id = ?, version = ?, kind = ?,"
    " landed = CASE WHEN chat_id = ? AND message_id = ? THEN landed ELSE shows END"
    " WHERE session_id = ? AND user_id = ?"
)


# -- values as each database hands them back -----------------------------------------------
def _json(value: str | dict[str, Any]) -> dict[str, Any]:
    return dict(from_json(value))


def session_record(row: Sequence[Any]) -> SessionRecord:
    created_at = when(row[13])
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
        deadline=when(row[10]),
        options=_json(row[11]),
        state=_json(row[12]),
        created_at=created_at,
    )


# -- the units ------------------------------------------------------------------------------
def _read(session_id: int) -> Unit[SessionRecord | None]:
    rows = yield Query(_SESSION, (session_id,), rows=True)
    return session_record(rows[0]) if rows else None


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
            yield from owe_cards(session_id, write.owed, change.version, write.owed_kind, now)
        if write.acknowledged is not None:
            yield Query(_ACKNOWLEDGE, (now, now, write.acknowledged))
        if write.result is not None:
            yield from _record_result(session_id, write.result)
    if write.drop_lanes:
        lanes = tuple(write.drop_lanes)
        yield Query(_drop_timers(len(lanes)), (session_id, *lanes))
    yield from arm_timers(write.timers)
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


# -- a step on PostgreSQL: one statement for all it writes ---------------------------------
#
# A transaction costs its BEGIN and COMMIT and a round trip for every statement between.
# PostgreSQL runs data-modifying CTEs in one statement, atomically: the save (the
# compare-and-set on `revision`) and everything it carries (the cards owed, the timers,
# the safety note's acknowledgement, the result, the claims of edits in place) go in one
# round trip after the read, each part written only if the save was (`saved`).
_GUARD = " EXISTS (SELECT 1 FROM saved)"
_OWED_ROW = (
    "(?::int, ?::bigint, ?::int, ?::varchar, ?::varchar, ?::timestamptz, NULL::timestamptz)"
)
_TIMER_ROW = (
    "(?::int, ?::varchar, ?::varchar, ?::int, ?::timestamptz, ?::timestamptz, ?::varchar,"
    " ?::int, ?::json)"
)


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a step writes on PostgreSQL, by count: one statement text a shape."""

    save: bool
    owed: int
    acknowledged: bool
    result: bool
    dropped: int
    armed: int
    claimed: int


# A statement's parts (data-modifying CTEs), by name, in the order they must run.
Parts = list[tuple[str, str]]


def _after(parts: Parts) -> str | None:
    """What makes the next part wait for the last one so far (None: it is the first).

    The parts of one statement run in an order PostgreSQL chooses (unreferenced ones at
    the end, last first), so each part's condition counts the rows of the one before it
    (always true, but it must run that part first). The row locks are then taken in the
    order of the statements the parts replace, the order every other unit takes them in
    too (the outbox before the timers): two workers' units on one session wait for each
    other instead of deadlocking."""
    return f"(SELECT count(*) FROM {parts[-1][0]}) >= 0" if parts else None


def _with(parts: Parts) -> str:
    return "WITH " + ", ".join(f"{name} AS ({sql})" for name, sql in parts)


@cache
def _step_statement(shape: _Shape) -> str:
    parts: Parts = []

    def guard() -> str:
        previous = _after(parts) or "TRUE"
        return f" {previous} AND{_GUARD}" if shape.save else f" {previous}"

    if shape.save:
        parts.append(("saved", f"{_SAVE} RETURNING id"))
    if shape.owed:
        rows = ", ".join([_OWED_ROW] * shape.owed)
        source = f" SELECT * FROM (VALUES {rows}) AS v WHERE{guard()}"
        parts.append(("owed", f"{_OWE_INTO}{source}{_OWE_UPSERT} RETURNING 1"))
    if shape.acknowledged:
        parts.append(("acknowledged", f"{_ACKNOWLEDGE} AND{guard()} RETURNING 1"))
    if shape.result:
        source = (
            " SELECT ?::int, ?::int, ?::varchar, ?::varchar, ?::int, ?::int, ?::int, ?::date,"
            f" ?::timestamptz WHERE{guard()}"
        )
        parts.append(("result", f"{_RESULT_INTO}{source}{_RESULT_UPSERT} RETURNING 1"))
    if shape.dropped:
        parts.append(("dropped", f"{_drop_timers(shape.dropped)} AND{guard()} RETURNING 1"))
    if shape.armed:
        rows = ", ".join([_TIMER_ROW] * shape.armed)
        source = f" SELECT * FROM (VALUES {rows}) AS v WHERE{guard()}"
        parts.append(("armed", f"{_TIMERS_INTO}{source}{_TIMERS_UPSERT} RETURNING 1"))
    if shape.claimed:
        parts.append(("claims", f"{_claim_cards(shape.claimed)} AND{guard()} RETURNING 1"))
    if not parts:
        return "SELECT 1"
    last = parts[-1][0]
    # A row comes back when the step was written: the save's (or, with no save, the
    # count of the last part), once every part ran.
    if shape.save:
        answer = f"SELECT saved.id FROM saved, (SELECT count(*) FROM {last}) AS done"
    else:
        answer = f"SELECT count(*) FROM {last}"
    return f"{_with(parts)} {answer}"


def _step_postgres(session_id: int, decide: Decide, now: datetime) -> Unit[StepOutcome]:
    """As `_step`, in two round trips (three when the step claims edits in place): the
    read, (the cards,) and one statement for every write. The cards are read before the
    save here, not after it: a step saved meanwhile fails the compare-and-set, and a
    claim of an edit is a compare-and-set of its own on the cards' `shows`."""
    record = yield from _read(session_id)
    if record is None:
        return StepOutcome(None, None, False)
    write = decide(record)
    if write is None:
        return StepOutcome(record, None, False)
    change = write.change
    cards: list[CardRecord] = []
    claimed: tuple[int, ...] = ()
    if change is not None and write.claim is not None:
        cards = yield from _read_cards(session_id)
        claimed = tuple(write.claim(cards))
    # Arming a lane replaces what it held: a lane armed is not dropped first (two parts
    # of one statement must not touch the same row).
    armed = {timer.lane for timer in write.timers}
    dropped = tuple(lane for lane in write.drop_lanes if lane not in armed)
    save = change is not None
    if not (save or dropped or write.timers):
        return StepOutcome(record, write, True)
    shape = _Shape(
        save=save,
        owed=len(write.owed) if save else 0,
        acknowledged=save and write.acknowledged is not None,
        result=save and write.result is not None,
        dropped=len(dropped),
        armed=len(write.timers),
        claimed=len(claimed),
    )
    args: list[Any] = []
    if change is not None:
        args += (
            change.phase,
            change.live,
            change.version,
            change.deadline,
            json.dumps(change.state),
            now,
            session_id,
            record.revision,
        )
        args += flat(
            [(session_id, user, change.version, write.owed_kind, OWED, now) for user in write.owed]
        )
        if write.acknowledged is not None:
            args += (now, now, write.acknowledged)
        if write.result is not None:
            args += _result_args(session_id, write.result)
    if dropped:
        args += (session_id, *dropped)
    args += flat(list(_timer_rows(write.timers)))
    if claimed:
        revision = record.revision + 1
        args += (revision, revision, revision - 1, session_id, revision, *claimed)
    rows = yield Query(_step_statement(shape), tuple(args), rows=True)
    if not rows:
        return StepOutcome(record, write, False)
    if change is None or write.claim is None:
        return StepOutcome(record, write, True)
    return StepOutcome(record, write, True, tuple(cards), claimed)


def owe_cards(
    session_id: int, user_ids: Sequence[int], version: int, kind: str, now: datetime
) -> Unit[None]:
    """Owe each of `user_ids` the card of `version`, replacing any older card owed."""
    rows = [(session_id, user_id, version, kind, OWED, now, None) for user_id in user_ids]
    yield Query(_owe(len(rows)), flat(rows))


def _result_args(session_id: int, result: ResultRow) -> tuple[Any, ...]:
    return (
        session_id,
        result.pair_id,
        result.routine_id,
        result.end_reason,
        result.holds_done,
        result.exercises_done,
        result.seconds_stretched,
        result.local_date,
        result.ended_at,
    )


def _record_result(session_id: int, result: ResultRow) -> Unit[None]:
    yield Query(_RESULT, _result_args(session_id, result))


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


def arm_timers(timers: Sequence[TimerRecord]) -> Unit[None]:
    """Arm each timer in its lane, replacing whatever the lane held (and its claim)."""
    if timers:
        yield Query(_set_timers(len(timers)), flat(list(_timer_rows(timers))))


def _note_cards(
    session_id: int, cards: Sequence[CardRecord], *, postgres: bool = False
) -> Unit[list[LeftoverRecord]]:
    """As `SessionRepository.note_cards`: the cards replaced, to be deleted; a slow send of
    an older step never replaces a newer card (that message is handed back itself)."""
    rows = [
        (session_id, card.user_id, card.chat_id, card.message_id, card.version, card.kind)
        for card in cards
    ]
    # Rows that do not exist yet are simply written; RETURNING says which.
    inserted = yield Query(_new_cards(len(rows)), flat(rows), rows=True)
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
    moved: list[CardRecord] = []
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
        moved.append(card)
    if postgres and moved:
        # The rows are locked above: one statement moves them all.
        yield Query(
            _move_cards(len(moved)),
            (
                *flat([(c.user_id, c.chat_id, c.message_id, c.version, c.kind) for c in moved]),
                session_id,
            ),
        )
        return leftovers
    for card in moved:
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


def _noted(
    session_id: int, cards: Sequence[CardRecord], *, postgres: bool = False
) -> Unit[list[LeftoverRecord]]:
    """Note `cards`; what those phones should lose now: the cards replaced, and the
    leftovers of earlier deletes that failed, taken out of the table."""
    replaced = yield from _note_cards(session_id, cards, postgres=postgres)
    earlier = yield from _taken_leftovers(session_id, [card.user_id for card in cards])
    return replaced + earlier


def _delivered(
    session_id: int, note: DeliveryNote, *, postgres: bool = False
) -> Unit[list[LeftoverRecord]]:
    if postgres:
        return (yield from _delivered_postgres(session_id, note))
    version, shown, unreachable, retry = note.version, note.shown, note.unreachable, note.retry
    cards_lane, now = note.cards_lane, note.now
    leftovers = (yield from _noted(session_id, shown)) if shown else []
    for status, user_ids in ((SENT, [card.user_id for card in shown]), (UNREACHABLE, unreachable)):
        if user_ids:
            yield Query(_settle(len(user_ids)), (status, now, session_id, version, *user_ids))
    if unreachable:
        yield Query(_unreachable(len(unreachable)), (False, now, *unreachable))
    # A newer step's cards (owed meanwhile) keep their own row.
    if retry is not None:
        yield Query(_RETRY_CARDS, next(_timer_rows([retry])))
    else:
        yield Query(_DROP_CARDS, (session_id, cards_lane, version))
    return leftovers


# -- a delivery on PostgreSQL: the cards noted, then one statement for the rest ------------
#
# After the cards are noted (their rows locked and moved), the earlier leftovers taken,
# the outbox settled, the people refused marked and the cards' timer set or dropped are
# one statement, its parts in that order, each waiting for the one before it (`_after`):
# the rows are locked in the order the statements it replaces took them, the outbox
# before the timers, as every other unit takes them.
@cache
def _move_cards(count: int) -> str:
    # As `_MOVE_CARD`, for several phones; the right-hand side reads each row as it was.
    rows = ", ".join(["(?::bigint, ?::bigint, ?::bigint, ?::int, ?::varchar)"] * count)
    return (
        "UPDATE session_cards AS c SET chat_id = v.chat_id, message_id = v.message_id,"
        " version = v.version, kind = v.kind,"
        " landed = CASE WHEN c.chat_id = v.chat_id AND c.message_id = v.message_id"
        " THEN c.landed ELSE c.shows END"
        f" FROM (VALUES {rows}) AS v (user_id, chat_id, message_id, version, kind)"
        " WHERE c.session_id = ? AND c.user_id = v.user_id"
    )


@dataclass(frozen=True, slots=True)
class _Settling:
    """What a delivery writes on PostgreSQL after noting its cards, by count."""

    shown: int
    unreachable: int
    retry: bool


@cache
def _settling_statement(shape: _Settling) -> str:
    parts: Parts = []

    def after(keyword: str = "AND") -> str:
        previous = _after(parts)
        return f" {keyword} {previous}" if previous else ""

    if shape.shown:
        parts.append(("taken", _take_leftovers(shape.shown)))
        parts.append(("sent", f"{_settle(shape.shown)}{after()} RETURNING 1"))
    if shape.unreachable:
        parts.append(("refused", f"{_settle(shape.unreachable)}{after()} RETURNING 1"))
        parts.append(("marked", f"{_unreachable(shape.unreachable)}{after()} RETURNING 1"))
    if shape.retry:
        source = f" SELECT * FROM (VALUES {_TIMER_ROW}) AS v{after('WHERE')}"
        parts.append(
            ("cards", f"{_TIMERS_INTO}{source}{_TIMERS_UPSERT}{_OLDER_CARDS_ONLY} RETURNING 1")
        )
    else:
        parts.append(("cards", f"{_DROP_CARDS}{after()} RETURNING 1"))
    if shape.shown:
        # Every part has run once the count of the last is read; the leftovers come back.
        return (
            f"{_with(parts)} SELECT taken.user_id, taken.chat_id, taken.message_id"
            " FROM (SELECT count(*) FROM cards) AS done LEFT JOIN taken ON TRUE"
        )
    return f"{_with(parts)} SELECT count(*) FROM cards"


def _delivered_postgres(session_id: int, note: DeliveryNote) -> Unit[list[LeftoverRecord]]:
    """As `_delivered`, in four round trips after the landing instead of seven or more."""
    version, shown, unreachable, retry = note.version, note.shown, note.unreachable, note.retry
    now = note.now
    replaced = (yield from _note_cards(session_id, shown, postgres=True)) if shown else []
    shown_ids = [card.user_id for card in shown]
    args: list[Any] = []
    if shown:
        args += (session_id, *shown_ids)
        args += (SENT, now, session_id, version, *shown_ids)
    if unreachable:
        args += (UNREACHABLE, now, session_id, version, *unreachable)
        args += (False, now, *unreachable)
    if retry is not None:
        args += next(_timer_rows([retry]))
    else:
        args += (session_id, note.cards_lane, version)
    shape = _Settling(len(shown), len(unreachable), retry is not None)
    rows = yield Query(_settling_statement(shape), tuple(args), rows=True)
    # Without cards shown the answer is a count; with them, the leftovers taken (or one
    # row of NULLs, when there were none).
    taken = [row for row in rows if row[0] is not None] if shown else []
    earlier = sorted(
        (LeftoverRecord(session_id, *row) for row in taken),
        key=lambda leftover: (leftover.chat_id, leftover.message_id),
    )
    return replaced + earlier


@cache
def _claim_cards_returning(count: int) -> str:
    return _claim_cards(count) + f" RETURNING {_CARD_COLUMNS}"


@cache
def _land(count: int) -> str:
    # Every named card comes back as it is now; only those below `revision` change.
    return (
        "UPDATE session_cards SET landed = CASE WHEN landed < ? THEN ? ELSE landed END"
        f" WHERE session_id = ? AND user_id IN ({marks(count)}) RETURNING {_CARD_COLUMNS}"
    )


@cache
def _leave(count: int) -> str:
    return (
        "INSERT INTO session_leftovers (session_id, user_id, chat_id, message_id)"
        f" VALUES {marks(count, 4)} ON CONFLICT DO NOTHING"
    )


def _left_behind(leftovers: Sequence[LeftoverRecord]) -> Unit[None]:
    if leftovers:
        rows = [(x.session_id, x.user_id, x.chat_id, x.message_id) for x in leftovers]
        yield Query(_leave(len(rows)), flat(rows))


_OWED = (
    "SELECT user_id FROM owed_cards WHERE session_id = ? AND status = ? AND version = ?"
    " ORDER BY user_id"
)


def _sorted_cards(rows: Sequence[Sequence[Any]]) -> list[CardRecord]:
    return sorted((CardRecord(*row) for row in rows), key=lambda card: card.user_id)


# Given the session as read, the people owed its card and the phones' cards: whose card
# the owed cards edit in place. Runs inside the unit, so it must be pure.
ChooseEdits = Callable[[SessionRecord, Sequence[int], Sequence[CardRecord]], Sequence[int]]


@dataclass(frozen=True, slots=True)
class OwedOutcome:
    """What `SessionSteps.owed` found: the row (None: no such session), who is still owed
    its current version's card, and, when asked, the phones' cards and whose were claimed."""

    record: SessionRecord | None
    owed: tuple[int, ...] = ()
    cards: tuple[CardRecord, ...] = ()
    claimed: tuple[int, ...] = ()


# The session, who is owed its current version's card, and the phones' cards: three reads
# on SQLite (one hop anyway), one statement on PostgreSQL.
OwedRead = tuple[SessionRecord | None, tuple[int, ...], list[CardRecord] | None]
_OWED_READ_POSTGRES = (
    f"SELECT {SESSION_COLUMNS},"
    " (SELECT coalesce(json_agg(o.user_id ORDER BY o.user_id), '[]') FROM owed_cards AS o"
    "  WHERE o.session_id = s.id AND o.status = ? AND o.version = s.version),"
    " (SELECT coalesce(json_agg(json_build_array(c.user_id, c.chat_id, c.message_id,"
    "  c.version, c.kind, c.shows, c.landed) ORDER BY c.user_id), '[]')"
    "  FROM session_cards AS c WHERE c.session_id = s.id)"
    " FROM stretch_sessions AS s WHERE s.id = ?"
)


def _owed_read(session_id: int) -> Unit[OwedRead]:
    record = yield from _read(session_id)
    if record is None:
        return None, (), None
    rows = yield Query(_OWED, (session_id, OWED, record.version), rows=True)
    # The cards are read when they are asked for (see `_owed`).
    return record, tuple(row[0] for row in rows), None


def _owed_read_postgres(session_id: int) -> Unit[OwedRead]:
    rows = yield Query(_OWED_READ_POSTGRES, (OWED, session_id), rows=True)
    if not rows:
        return None, (), None
    row = rows[0]
    cards = [CardRecord(*card) for card in from_json(row[15])]
    return session_record(row), tuple(from_json(row[14])), cards


def _owed(
    session_id: int, version: int | None, choose: ChooseEdits, *, postgres: bool = False
) -> Unit[OwedOutcome]:
    read = _owed_read_postgres if postgres else _owed_read
    record, owed, cards = yield from read(session_id)
    if record is None:
        return OwedOutcome(None)
    if not owed or version not in (None, record.version):
        return OwedOutcome(record, owed)
    if cards is None:
        cards = yield from _read_cards(session_id)
    claimed = tuple(choose(record, owed, cards))
    if claimed:
        revision = record.revision
        yield Query(
            _claim_cards(len(claimed)),
            (revision, revision, revision - 1, session_id, revision, *claimed),
        )
    return OwedOutcome(record, owed, tuple(cards), claimed)


def _claim_for(
    session_id: int, revision: int, user_ids: tuple[int, ...]
) -> Unit[list[CardRecord]]:
    if not user_ids:
        return []
    rows = yield Query(
        _claim_cards_returning(len(user_ids)),
        (revision, revision, revision - 1, session_id, revision, *user_ids),
        rows=True,
    )
    return _sorted_cards(rows)


def _claim_latest(
    session_id: int, user_ids: tuple[int, ...]
) -> Unit[tuple[SessionRecord | None, list[CardRecord]]]:
    record = yield from _read(session_id)
    if record is None:
        return None, []
    return record, (yield from _claim_for(session_id, record.revision, user_ids))


def _edits_landed(
    session_id: int, revision: int, user_ids: tuple[int, ...]
) -> Unit[list[CardRecord]]:
    if not user_ids:
        return []
    rows = yield Query(
        _land(len(user_ids)), (revision, revision, session_id, *user_ids), rows=True
    )
    return _sorted_cards(rows)


# Given the cards as an edits' landing left them: whether nothing newer needs showing, so
# what Telegram did with the step's cards may be written down in the same trip. Pure.
Settled = Callable[[Sequence[CardRecord]], bool]


def _landed_then_delivered(
    session_id: int,
    revision: int,
    user_ids: tuple[int, ...],
    settled: Settled,
    then: DeliveryNote | None,
    *,
    postgres: bool = False,
) -> Unit[tuple[list[CardRecord], list[LeftoverRecord] | None]]:
    cards = yield from _edits_landed(session_id, revision, user_ids)
    if then is None or not settled(cards):
        return cards, None
    return cards, (yield from _delivered(session_id, then, postgres=postgres))


class SessionSteps:
    """The session units of `bot.services.sessions` that run on every event, one trip each
    (storage/one_trip.py)."""

    def __init__(self, trip: OneTrip) -> None:
        self._trip = trip

    async def read(self, session_id: int) -> SessionRecord | None:
        return await self._trip.run(_read(session_id), write=False)

    async def cards(self, session_id: int) -> list[CardRecord]:
        return await self._trip.run(_read_cards(session_id), write=False)

    async def read_with_cards(
        self, session_id: int
    ) -> tuple[SessionRecord | None, list[CardRecord]]:
        return await self._trip.run(_read_with_cards(session_id), write=False)

    async def step(self, session_id: int, decide: Decide, now: datetime) -> StepOutcome:
        """Read the session, let `decide` say what to write, and write it, only if nobody
        wrote the session since it was read (else `saved` is False, nothing written)."""
        if self._trip.postgres:
            # One statement writes: no transaction around it (see `_step_postgres`).
            unit = _step_postgres(session_id, decide, now)
            return await self._trip.run(unit, write=True, atomic=False)
        return await self._trip.run(_step(session_id, decide, now), write=True)

    async def note_cards(
        self, session_id: int, cards: Sequence[CardRecord]
    ) -> list[LeftoverRecord]:
        """Note the message each phone shows now; the messages they should lose come back
        (the cards replaced, and the leftovers of earlier deletes, out of the table)."""
        unit = _noted(session_id, cards, postgres=self._trip.postgres)
        return await self._trip.run(unit, write=True)

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
        """What Telegram did with the cards of `version` (see `sessions.write_delivery`):
        the shown ones noted, the outbox settled, the cards' retry row set or dropped. The
        messages those phones should lose come back."""
        note = DeliveryNote(version, shown, unreachable, retry, cards_lane, now)
        unit = _delivered(session_id, note, postgres=self._trip.postgres)
        return await self._trip.run(unit, write=True)

    async def leave_behind(self, leftovers: Sequence[LeftoverRecord]) -> None:
        """Messages of a session no phone should keep: deleted with the phone's next card,
        or at the next tidy (one already noted stays as it is)."""
        await self._trip.run(_left_behind(leftovers), write=True, atomic=False)

    async def owed(self, session_id: int, version: int | None, choose: ChooseEdits) -> OwedOutcome:
        """The session, the people still owed the card of its current version and, when
        it is still at `version` (any, if None), the phones' cards and those of them that
        `choose` says the owed cards edit in place, claimed for the session's revision
        (see `SessionSteps.claim_cards`). Each statement stands on its own: the
        claim is a compare-and-set of its own on the cards' `shows`."""
        unit = _owed(session_id, version, choose, postgres=self._trip.postgres)
        return await self._trip.run(unit, write=True, atomic=False)

    async def claim_latest(
        self, session_id: int, user_ids: Sequence[int]
    ) -> tuple[SessionRecord | None, list[CardRecord]]:
        """The session as it is now, and these phones' cards claimed for an edit that
        shows its revision (those a newer revision's edit claimed are left to it)."""
        unit = _claim_latest(session_id, tuple(user_ids))
        return await self._trip.run(unit, write=True, atomic=False)

    async def claim_cards(
        self, session_id: int, revision: int, user_ids: Sequence[int]
    ) -> list[CardRecord]:
        """Claim these phones' cards for an edit that shows `revision`, before it is sent;
        those no edit of a newer revision claimed yet come back (an older rendering must
        not be sent over a newer one). Until the edit is marked landed, `landed` stays
        below `revision`: an edit claimed after this one waits for it."""
        unit = _claim_for(session_id, revision, tuple(user_ids))
        return await self._trip.run(unit, write=True, atomic=False)

    async def edits_landed(
        self, session_id: int, revision: int, user_ids: Sequence[int]
    ) -> list[CardRecord]:
        """The edits claimed for `revision` on these phones' cards reached Telegram (or
        failed): edits claimed after them may go. The cards come back as they are now."""
        unit = _edits_landed(session_id, revision, tuple(user_ids))
        return await self._trip.run(unit, write=True, atomic=False)

    async def landed_then_delivered(
        self,
        session_id: int,
        revision: int,
        user_ids: Sequence[int],
        settled: Settled,
        then: DeliveryNote | None,
    ) -> tuple[list[CardRecord], list[LeftoverRecord] | None]:
        """`edits_landed`, then, when `settled` says the cards as they are now need no
        newer edit, `then` written down as `delivered` does, in the same trip (its
        leftovers come back; None: not written, the cards must be shown again first)."""
        unit = _landed_then_delivered(
            session_id, revision, tuple(user_ids), settled, then, postgres=self._trip.postgres
        )
        try:
            return await self._trip.run(unit, write=True)
        except Exception:
            # The edits did reach Telegram: their landing stands even when the delivery's
            # write failed (the caller hears of that failure), or the next edit of these
            # cards would wait for them in vain.
            with contextlib.suppress(Exception):  # the first failure is the one to report
                await self.edits_landed(session_id, revision, user_ids)
            raise
