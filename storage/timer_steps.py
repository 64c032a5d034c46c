"""Session timers' units, one trip each: the poller's read, its claim, and what a carried
out timer writes back.

The same rows and the same rules as `TimerRepository` (storage/repositories/timers.py),
without the ORM: a claim is a lease (the claimer's name and the instant until which
nobody else may take the row), committed before the timer is carried out; a claimed
row is finished or moved on only while it is still the row claimed (same version, due
instant and holder), so a row armed anew meanwhile stays.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.one_trip import OneTrip, Query, Unit, from_json, when
from storage.records import TimerRecord
from storage.session_steps import arm_timers

_COLUMNS = "session_id, lane, kind, version, due_at, attempt, later"
_SOONEST = "SELECT min(available_at) FROM session_timers"

# The claim is one statement on each database. PostgreSQL: the rows due are locked with
# SKIP LOCKED, so two workers claiming at once take different rows instead of waiting for
# each other; the soonest instant of the rows left comes with each row claimed (the
# statement's snapshot, less the rows it claimed: their new instant is the lease's end).
_CLAIM_POSTGRES = (
    "WITH due AS MATERIALIZED ("
    " SELECT session_id, lane FROM session_timers WHERE available_at <= ?"
    " ORDER BY available_at, session_id LIMIT ? FOR UPDATE SKIP LOCKED),"
    " claimed AS ("
    " UPDATE session_timers AS t SET claimed_by = ?, available_at = ? FROM due"
    " WHERE t.session_id = due.session_id AND t.lane = due.lane"
    f" RETURNING t.session_id, t.lane, t.kind, t.version, t.due_at, t.attempt, t.later)"
    f" SELECT {_COLUMNS}, (SELECT min(s.available_at) FROM session_timers AS s"
    " WHERE NOT EXISTS (SELECT 1 FROM due"
    " WHERE due.session_id = s.session_id AND due.lane = s.lane)) FROM claimed"
)
# SQLite has one writer at a time (the unit holds the write lock from its BEGIN
# IMMEDIATE): the rows due are picked by rowid and taken in the same statement, and the
# soonest instant is read after it, in the same hop.
_CLAIM_SQLITE = (
    "UPDATE session_timers SET claimed_by = ?, available_at = ? WHERE rowid IN ("
    " SELECT rowid FROM session_timers WHERE available_at <= ?"
    f" ORDER BY available_at, session_id LIMIT ?) RETURNING {_COLUMNS}"
)
_HELD = "session_id = ? AND lane = ? AND version = ? AND due_at = ? AND claimed_by = ?"
_FREE = "session_id = ? AND lane = ? AND version = ? AND due_at = ? AND claimed_by IS NULL"
_MOVE_ON = (
    "UPDATE session_timers SET kind = ?, version = ?, due_at = ?, available_at = ?,"
    " claimed_by = NULL, attempt = ?, later = ? WHERE "
)


@dataclass(frozen=True, slots=True)
class Claimed:
    """The timers a claim took, and the first instant any row may be claimed after it
    (None: unknown, nothing was claimed; or no row is left at all)."""

    timers: tuple[TimerRecord, ...]
    next_due: datetime | None


def _timer(row: Sequence[Any], worker: str, until: datetime) -> TimerRecord:
    due_at = when(row[4])
    assert due_at is not None
    return TimerRecord(
        session_id=row[0],
        lane=row[1],
        kind=row[2],
        version=row[3],
        due_at=due_at,
        later=tuple(datetime.fromisoformat(at) for at in from_json(row[6])),
        attempt=row[5],
        available_at=until,
        claimed_by=worker,
    )


def _soonest() -> Unit[datetime | None]:
    rows = yield Query(_SOONEST, (), rows=True)
    return when(rows[0][0]) if rows else None


def _claim_postgres(now: datetime, worker: str, until: datetime, limit: int) -> Unit[Claimed]:
    rows = yield Query(_CLAIM_POSTGRES, (now, limit, worker, until), rows=True)
    if not rows:
        return Claimed((), None)
    left = when(rows[0][7])
    return Claimed(
        tuple(sorted((_timer(row, worker, until) for row in rows), key=_claim_order)),
        until if left is None else min(left, until),
    )


def _claim_sqlite(now: datetime, worker: str, until: datetime, limit: int) -> Unit[Claimed]:
    rows = yield Query(_CLAIM_SQLITE, (worker, until, now, limit), rows=True)
    if not rows:
        return Claimed((), None)
    soonest = yield from _soonest()
    return Claimed(
        tuple(sorted((_timer(row, worker, until) for row in rows), key=_claim_order)), soonest
    )


def _claim_order(timer: TimerRecord) -> tuple[datetime, int, str]:
    return (timer.due_at, timer.session_id, timer.lane)


def _which(timer: TimerRecord) -> tuple[str, tuple[Any, ...]]:
    """The condition naming the row `timer` as claimed, and its arguments."""
    key = (timer.session_id, timer.lane, timer.version, timer.due_at)
    if timer.claimed_by is None:
        return _FREE, key
    return _HELD, (*key, timer.claimed_by)


def _finish(timer: TimerRecord) -> Unit[bool]:
    where, args = _which(timer)
    dropped = yield Query("DELETE FROM session_timers WHERE " + where, args)
    return bool(dropped)


def _move_on(held: TimerRecord, following: TimerRecord | None) -> Unit[bool]:
    if following is None:
        return (yield from _finish(held))
    where, args = _which(held)
    later = json.dumps([at.isoformat() for at in following.later])
    moved = yield Query(
        _MOVE_ON + where,
        (
            following.kind,
            following.version,
            following.due_at,
            following.due_at,
            following.attempt,
            later,
            *args,
        ),
    )
    return bool(moved)


class TimerSteps:
    """The session timers' units the poller and every carried out timer run."""

    def __init__(self, trip: OneTrip) -> None:
        self._trip = trip

    async def soonest(self) -> datetime | None:
        """The first instant any row may be claimed (an index-only read)."""
        return await self._trip.run(_soonest(), write=False)

    async def claim(self, now: datetime, worker: str, until: datetime, limit: int) -> Claimed:
        """Take up to `limit` rows free at `now` (due, or their holder's lease over), the
        most overdue first, for `worker` until `until`; and the instant the next row may
        be claimed, so the poller need not read it again."""
        if self._trip.postgres:
            # One statement: its own transaction.
            unit = _claim_postgres(now, worker, until, limit)
            return await self._trip.run(unit, write=True, atomic=False)
        return await self._trip.run(_claim_sqlite(now, worker, until, limit), write=True)

    async def finish(self, timer: TimerRecord) -> bool:
        """Delete the claimed `timer`'s row, only if it is still that row (same version,
        due instant and holder): a row armed anew meanwhile stays."""
        return await self._trip.run(_finish(timer), write=True, atomic=False)

    async def move_on(self, held: TimerRecord, following: TimerRecord | None) -> bool:
        """Replace the claimed `held` with `following`, released (or nothing: the row
        goes); only while the row is still `held`."""
        return await self._trip.run(_move_on(held, following), write=True, atomic=False)

    async def arm(self, timer: TimerRecord) -> None:
        """Write `timer` in its lane, replacing whatever the lane held, and its claim."""
        await self._trip.run(arm_timers([timer]), write=True, atomic=False)
