"""Sessions' due instants: written with the state that armed them, claimed by any worker."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, delete, func, select, tuple_, update
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

    @property
    def _postgres(self) -> bool:
        return self._session.get_bind().dialect.name == "postgresql"

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

    async def drop_if(self, timer: TimerRecord, *, up_to_version: bool = False) -> bool:
        """Delete the lane's row only if it is still `timer` (same version and due instant,
        same holder): a row armed anew meanwhile stays. With `up_to_version`, any row of
        that lane for `timer.version` or older goes, whoever holds it."""
        conditions = [
            SessionTimerRow.session_id == timer.session_id,
            SessionTimerRow.lane == timer.lane,
        ]
        if up_to_version:
            conditions.append(SessionTimerRow.version <= timer.version)
        else:
            conditions += [
                SessionTimerRow.version == timer.version,
                SessionTimerRow.due_at == timer.due_at,
                _held_by(timer.claimed_by),
            ]
        result = await self._session.execute(
            delete(SessionTimerRow)
            .where(*conditions)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def move_on(self, held: TimerRecord, following: TimerRecord) -> bool:
        """Replace the row `held` (claimed by its worker) with `following`, released;
        nothing when the lane was armed anew meanwhile."""
        result = await self._session.execute(
            update(SessionTimerRow)
            .where(
                SessionTimerRow.session_id == held.session_id,
                SessionTimerRow.lane == held.lane,
                SessionTimerRow.version == held.version,
                SessionTimerRow.due_at == held.due_at,
                _held_by(held.claimed_by),
            )
            .values(
                kind=following.kind,
                version=following.version,
                due_at=following.due_at,
                available_at=following.due_at,
                claimed_by=None,
                attempt=following.attempt,
                later=[at.isoformat() for at in following.later],
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def claim(
        self, now: datetime, worker: str, lease_until: datetime, limit: int
    ) -> list[TimerRecord]:
        """Take up to `limit` rows free at `now` (due, or their holder's lease over), the
        most overdue first, for `worker` until `lease_until`.

        On PostgreSQL the rows are locked with SKIP LOCKED, so two workers polling at once
        take different rows instead of waiting for each other; SQLite has one writer at a
        time anyway (the unit of work began with BEGIN IMMEDIATE).
        """
        query = (
            select(SessionTimerRow)
            .where(SessionTimerRow.available_at <= now)
            .order_by(SessionTimerRow.available_at, SessionTimerRow.session_id)
            .limit(limit)
        )
        if self._postgres:
            query = query.with_for_update(skip_locked=True)
        rows = list(await self._session.scalars(query))
        if not rows:
            return []
        claimed = [_record(row) for row in rows]
        keys = [(row.session_id, row.lane) for row in claimed]
        await self._session.execute(
            update(SessionTimerRow)
            .where(tuple_(SessionTimerRow.session_id, SessionTimerRow.lane).in_(keys))
            .values(claimed_by=worker, available_at=lease_until)
            .execution_options(synchronize_session=False)
        )
        return [
            TimerRecord(
                session_id=row.session_id,
                lane=row.lane,
                kind=row.kind,
                version=row.version,
                due_at=row.due_at,
                later=row.later,
                attempt=row.attempt,
                available_at=lease_until,
                claimed_by=worker,
            )
            for row in claimed
        ]

    async def soonest(self) -> datetime | None:
        """The first instant any row may be claimed (an index-only read)."""
        value: datetime | None = await self._session.scalar(
            select(func.min(SessionTimerRow.available_at))
        )
        if value is not None and value.tzinfo is None:
            # min() over a TypeDecorator column comes back raw on SQLite.
            value = value.replace(tzinfo=UTC)
        return value

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


def _held_by(worker: str | None) -> ColumnElement[bool]:
    if worker is None:
        return SessionTimerRow.claimed_by.is_(None)
    return SessionTimerRow.claimed_by == worker
