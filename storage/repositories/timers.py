"""Sessions' due instants: written with the state that armed them, claimed by any worker.

The poller's claim and what a carried out timer writes back run in one trip each
(storage/timer_steps.py); here are the rest: start-up, shutdown, and reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SessionTimerRow, StretchSession
from storage.records import TimerRecord
from storage.upsert import conflict_insert


def _record(row: SessionTimerRow) -> TimerRecord:
    return TimerRecord(
        session_id=row.session_id,
        lane=row.lane,
        kind=row.kind,
        version=row.version,
        due_at=row.due_at,
        later=tuple(datetime.fromisoformat(at) for at in row.later),
        attempt=row.attempt,
        available_at=row.available_at,
        claimed_by=row.claimed_by,
    )


class TimerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def set(self, timer: TimerRecord) -> None:
        """Arm `timer` in its lane, replacing whatever the lane held, and any claim on it
        (`timer.claimed_by` set: the writer holds it until `timer.available_at`)."""
        values = dict(
            session_id=timer.session_id,
            lane=timer.lane,
            kind=timer.kind,
            version=timer.version,
            due_at=timer.due_at,
            available_at=timer.available_at or timer.due_at,
            claimed_by=timer.claimed_by,
            attempt=timer.attempt,
            later=[at.isoformat() for at in timer.later],
        )
        statement = conflict_insert(self._session, SessionTimerRow).values(**values)
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=["session_id", "lane"],
                set_={k: v for k, v in values.items() if k not in ("session_id", "lane")},
            )
        )

    async def drop(self, session_id: int, lanes: Sequence[str]) -> None:
        await self._session.execute(
            delete(SessionTimerRow)
            .where(SessionTimerRow.session_id == session_id, SessionTimerRow.lane.in_(lanes))
            .execution_options(synchronize_session=False)
        )

    async def release_all(self, worker: str | None = None) -> int:
        """Free every claim, or `worker`'s (one stopping); with one process (SQLite), at
        start-up every holder is gone."""
        held = (
            SessionTimerRow.claimed_by.is_not(None)
            if worker is None
            else SessionTimerRow.claimed_by == worker
        )
        result = await self._session.execute(
            update(SessionTimerRow)
            .where(held)
            .values(claimed_by=None, available_at=SessionTimerRow.due_at)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def bring_forward(self, lane: str, now: datetime) -> None:
        """Make every free retry of `lane` due at `now` at the latest, as a first try.

        A row not tried yet that is due later (a hold's cards, due at its start) keeps
        its instant."""
        await self._session.execute(
            update(SessionTimerRow)
            .where(
                SessionTimerRow.lane == lane,
                SessionTimerRow.claimed_by.is_(None),
                SessionTimerRow.due_at > now,
                SessionTimerRow.attempt > 0,
            )
            .values(due_at=now, available_at=now, attempt=0)
            .execution_options(synchronize_session=False)
        )

    async def of_session(self, session_id: int) -> list[TimerRecord]:
        rows = await self._session.scalars(
            select(SessionTimerRow)
            .where(SessionTimerRow.session_id == session_id)
            .order_by(SessionTimerRow.lane)
        )
        return [_record(row) for row in rows]

    async def live_without(self, lane: str) -> list[int]:
        """Live sessions with no row in `lane` (start-up arms theirs)."""
        armed = select(SessionTimerRow.session_id).where(SessionTimerRow.lane == lane)
        rows = await self._session.scalars(
            select(StretchSession.id)
            .where(StretchSession.live.is_(True), StretchSession.id.not_in(armed))
            .order_by(StretchSession.id)
        )
        return list(rows)
