"""Stretch sessions: the engine's snapshot, saved with a compare-and-set."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SessionCard, StretchSession
from storage.records import CardRecord, SessionChange, SessionRecord
from storage.upsert import conflict_insert


def _record(row: StretchSession) -> SessionRecord:
    return SessionRecord(
        id=row.id,
        pair_id=row.pair_id,
        routine_id=row.routine_id,
        seats=(row.seat_a_id, row.seat_b_id),
        origin_chat_id=row.origin_chat_id,
        phase=row.phase,
        live=row.live,
        version=row.version,
        revision=row.revision,
        deadline=row.deadline,
        options=dict(row.options),
        state=dict(row.state),
        created_at=row.created_at,
    )


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        *,
        pair_id: int,
        routine_id: str,
        seats: tuple[int, int],
        origin_chat_id: int,
        options: dict[str, Any],
        change: SessionChange,
        now: datetime,
    ) -> SessionRecord:
        row = StretchSession(
            pair_id=pair_id,
            routine_id=routine_id,
            seat_a_id=seats[0],
            seat_b_id=seats[1],
            origin_chat_id=origin_chat_id,
            phase=change.phase,
            live=change.live,
            version=change.version,
            revision=0,
            deadline=change.deadline,
            options=options,
            state=change.state,
            created_at=now,
            updated_at=now,
        )
        self._session.add(row)
        await self._session.flush()
        return _record(row)

    async def get(self, session_id: int) -> SessionRecord | None:
        row = await self._session.get(StretchSession, session_id, populate_existing=True)
        return None if row is None else _record(row)

    async def live_of_user(self, user_id: int) -> SessionRecord | None:
        """The session the user is in right now, if any (a user runs one at a time)."""
        row = await self._session.scalar(
            select(StretchSession)
            .where(
                StretchSession.live.is_(True),
                or_(StretchSession.seat_a_id == user_id, StretchSession.seat_b_id == user_id),
            )
            .order_by(StretchSession.id.desc())
            .limit(1)
        )
        return None if row is None else _record(row)

    async def live(self) -> list[SessionRecord]:
        """Every session not yet over: their timers are re-armed at start-up."""
        rows = await self._session.scalars(
            select(StretchSession).where(StretchSession.live.is_(True)).order_by(StretchSession.id)
        )
        return [_record(row) for row in rows]

    async def save(
        self, session_id: int, read_revision: int, change: SessionChange, now: datetime
    ) -> bool:
        """Write the change only if nobody wrote since `read_revision` was read."""
        result = await self._session.execute(
            update(StretchSession)
            .where(StretchSession.id == session_id, StretchSession.revision == read_revision)
            .values(
                phase=change.phase,
                live=change.live,
                version=change.version,
                deadline=change.deadline,
                state=change.state,
                revision=StretchSession.revision + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def note_cards(self, session_id: int, cards: list[CardRecord]) -> None:
        """Remember the message each phone shows now, in one statement.

        A slow send of an older step never replaces the card of a newer one.
        """
        if not cards:
            return
        statement = conflict_insert(self._session, SessionCard).values(
            [
                dict(
                    session_id=session_id,
                    user_id=card.user_id,
                    chat_id=card.chat_id,
                    message_id=card.message_id,
                    version=card.version,
                    kind=card.kind,
                )
                for card in cards
            ]
        )
        fresh = statement.excluded
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=["session_id", "user_id"],
                set_={
                    "chat_id": fresh.chat_id,
                    "message_id": fresh.message_id,
                    "version": fresh.version,
                    "kind": fresh.kind,
                },
                where=SessionCard.version <= fresh.version,
            )
        )

    async def cards(self, session_id: int) -> list[CardRecord]:
        rows = await self._session.scalars(
            select(SessionCard)
            .where(SessionCard.session_id == session_id)
            .order_by(SessionCard.user_id)
        )
        return [
            CardRecord(row.user_id, row.chat_id, row.message_id, row.version, row.kind)
            for row in rows
        ]

    async def count_live(self) -> int:
        return int(
            await self._session.scalar(select(func.count()).where(StretchSession.live.is_(True)))
            or 0
        )
