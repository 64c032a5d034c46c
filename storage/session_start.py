"""A session's start as one unit of work with one trip to the database.

/stretch (and Start now) locks the two people's rows, checks that neither is in a live
session, reads the pair's settings as they are now, notes who is stretched first,
writes the new session with the cards its phones are owed and its timers. Through the
ORM that was some forty hops to aiosqlite's thread; here it is one unit of plain
statements (storage/one_trip.py): one hop on SQLite, one transaction on PostgreSQL.
The guarantees stay those of the repositories: two starts for the same people take
turns on the users' rows (PostgreSQL; SQLite's writing units take turns anyway), so
they never open two lobbies, and the session's outbox and timers are written with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from storage.one_trip import OneTrip, Query, Unit, marks, when
from storage.records import PairRecord, SessionChange, SessionRecord, UserRecord
from storage.session_steps import (
    SESSION_COLUMNS,
    StepWrite,
    arm_timers,
    owe_cards,
    session_record,
)

_USERS = (
    "SELECT id, first_name, username, reachable, timezone, safety_acknowledged_at"
    f" FROM users WHERE id IN ({marks(2)}) ORDER BY id"
)
_LIVE = (
    f"SELECT {SESSION_COLUMNS} FROM stretch_sessions"
    f" WHERE live = ? AND (seat_a_id IN ({marks(2)}) OR seat_b_id IN ({marks(2)}))"
    " ORDER BY id DESC"
)
_PAIR = (
    "SELECT id, user_low_id, user_high_id, timezone, home_chat_id, swap_mode,"
    " reminders_paused_until, reminders_skipped_on, created_at, first_receiver,"
    " last_first_id, default_routine, weekly_recap, recap_due_at FROM pairs WHERE id = ?"
)
_LAST_FIRST = "UPDATE pairs SET last_first_id = ? WHERE id = ?"
_ADD = (
    "INSERT INTO stretch_sessions (pair_id, routine_id, seat_a_id, seat_b_id, origin_chat_id,"
    " phase, live, version, revision, deadline, options, state, created_at, updated_at)"
    f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?) RETURNING {SESSION_COLUMNS}"
)


@dataclass(frozen=True, slots=True)
class StartRead:
    """What the start reads, with both people's rows locked: the pair as it is now (None:
    gone), both people, and the newest live session each of them is in, if any."""

    pair: PairRecord | None
    users: dict[int, UserRecord]
    busy: dict[int, SessionRecord]


@dataclass(frozen=True, slots=True)
class Opening:
    """What a start writes: the session's row, who is stretched first (the pair's
    `last_first_id`), and, given the new session's id, its owed cards and timers."""

    pair_id: int
    routine_id: str
    seats: tuple[int, int]
    origin_chat_id: int
    options: dict[str, Any]
    change: SessionChange
    first_id: int
    write: Callable[[int], StepWrite]


# What the service makes of the rows read; runs inside the unit (on SQLite, on the
# database's thread), so it must be pure: it may raise to refuse, and nothing is written.
Open = Callable[[StartRead], Opening]


def _user(row: Sequence[Any]) -> UserRecord:
    return UserRecord(
        id=row[0],
        first_name=row[1],
        username=row[2],
        reachable=bool(row[3]),
        timezone=row[4],
        safety_acknowledged_at=when(row[5]),
    )


def _day(value: date | str | None) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _pair(row: Sequence[Any]) -> PairRecord:
    created_at = when(row[8])
    assert created_at is not None
    return PairRecord(
        id=row[0],
        user_low_id=row[1],
        user_high_id=row[2],
        timezone=row[3],
        home_chat_id=row[4],
        swap_mode=row[5],
        reminders_paused_until=when(row[6]),
        reminders_skipped_on=_day(row[7]),
        created_at=created_at,
        first_receiver=row[9],
        last_first_id=row[10],
        default_routine=row[11],
        weekly_recap=bool(row[12]),
        recap_due_at=when(row[13]),
    )


def _start(
    pair_id: int, people: tuple[int, int], decide: Open, now: datetime
) -> Unit[SessionRecord]:
    # Both rows locked in id order (PostgreSQL): two starts for the same people take turns.
    rows = yield Query(_USERS, tuple(sorted(people)), rows=True, lock=True)
    users = {row[0]: _user(row) for row in rows}
    rows = yield Query(_LIVE, (True, *people, *people), rows=True)
    busy: dict[int, SessionRecord] = {}
    for record in map(session_record, rows):
        for user_id in record.seats:
            busy.setdefault(user_id, record)
    rows = yield Query(_PAIR, (pair_id,), rows=True)
    opening = decide(StartRead(_pair(rows[0]) if rows else None, users, busy))
    yield Query(_LAST_FIRST, (opening.first_id, opening.pair_id))
    change = opening.change
    rows = yield Query(
        _ADD,
        (
            opening.pair_id,
            opening.routine_id,
            *opening.seats,
            opening.origin_chat_id,
            change.phase,
            change.live,
            change.version,
            change.deadline,
            json.dumps(opening.options),
            json.dumps(change.state),
            now,
            now,
        ),
        rows=True,
    )
    record = session_record(rows[0])
    write = opening.write(record.id)
    if write.owed:
        yield from owe_cards(record.id, write.owed, change.version, write.owed_kind, now)
    yield from arm_timers(write.timers)
    return record


class SessionStarts:
    """A new session's unit (`bot.services.sessions.start`)."""

    def __init__(self, trip: OneTrip) -> None:
        self._trip = trip

    async def start(
        self, pair_id: int, people: tuple[int, int], decide: Open, now: datetime
    ) -> SessionRecord:
        """Lock both people, read what `decide` needs and write the session it opens,
        with its owed cards and timers; what `decide` raises comes out, nothing written."""
        return await self._trip.run(_start(pair_id, people, decide, now), write=True)
