"""Stretch sessions: the engine's snapshot, saved with a compare-and-set."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SessionCard, SessionLeftover, StretchSession
from storage.records import CardRecord, LeftoverRecord, SessionChange, SessionRecord
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


def _card_row(session_id: int, card: CardRecord) -> dict[str, Any]:
    return dict(
        session_id=session_id,
        user_id=card.user_id,
        chat_id=card.chat_id,
        message_id=card.message_id,
        version=card.version,
        kind=card.kind,
    )


def _leftover(session_id: int, user_id: int, card: CardRecord) -> LeftoverRecord:
    return LeftoverRecord(session_id, user_id, card.chat_id, card.message_id)


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

    async def note_cards(self, session_id: int, cards: list[CardRecord]) -> list[LeftoverRecord]:
        """Remember the message each phone shows now; hand back the ones they replaced,
        to be deleted (not written down: only a delete that fails is, `SessionSteps.leave_behind`).

        A slow send of an older step never replaces the card of a newer one: that
        message is handed back itself, unless it is the very message the newer step
        edited (the phone's card).
        """
        if not cards:
            return []
        # Rows that do not exist yet are simply written; RETURNING says which.
        inserted = set(
            await self._session.scalars(
                conflict_insert(self._session, SessionCard)
                .values([_card_row(session_id, card) for card in cards])
                .on_conflict_do_nothing()
                .returning(SessionCard.user_id)
            )
        )
        others = [card for card in cards if card.user_id not in inserted]
        if not others:
            return []
        rows = await self._session.scalars(
            select(SessionCard)
            .where(
                SessionCard.session_id == session_id,
                SessionCard.user_id.in_([card.user_id for card in others]),
            )
            .with_for_update()
        )
        noted = {row.user_id: row for row in rows}
        leftovers: list[LeftoverRecord] = []
        for card in others:
            row = noted[card.user_id]
            if row.version > card.version:
                # A late card of an older step goes, unless a newer step edited that
                # same message: then it is the phone's card.
                if (row.chat_id, row.message_id) != (card.chat_id, card.message_id):
                    leftovers.append(_leftover(session_id, card.user_id, card))
                continue
            values: dict[str, Any] = {
                "chat_id": card.chat_id,
                "message_id": card.message_id,
                "version": card.version,
                "kind": card.kind,
            }
            if (row.chat_id, row.message_id) != (card.chat_id, card.message_id):
                leftovers.append(
                    LeftoverRecord(session_id, row.user_id, row.chat_id, row.message_id)
                )
                # Edits claimed for the old message no longer matter to the new one (their
                # worker may have died before marking them landed): none is waited for.
                values["landed"] = row.shows
            await self._session.execute(
                update(SessionCard)
                .where(SessionCard.session_id == session_id, SessionCard.user_id == card.user_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        return leftovers

    async def leftovers(
        self, session_id: int, user_ids: list[int] | None = None
    ) -> list[LeftoverRecord]:
        query = select(SessionLeftover).where(SessionLeftover.session_id == session_id)
        if user_ids is not None:
            query = query.where(SessionLeftover.user_id.in_(user_ids))
        rows = await self._session.scalars(
            query.order_by(SessionLeftover.chat_id, SessionLeftover.message_id)
        )
        return [
            LeftoverRecord(row.session_id, row.user_id, row.chat_id, row.message_id)
            for row in rows
        ]

    async def drop_leftovers(self, leftovers: list[LeftoverRecord]) -> None:
        """These messages are gone (or stripped to one line where Telegram keeps them)."""
        for leftover in leftovers:
            await self._session.execute(
                delete(SessionLeftover).where(
                    SessionLeftover.session_id == leftover.session_id,
                    SessionLeftover.chat_id == leftover.chat_id,
                    SessionLeftover.message_id == leftover.message_id,
                )
            )

    async def sessions_with_leftovers(self) -> list[int]:
        rows = await self._session.scalars(
            select(SessionLeftover.session_id).distinct().order_by(SessionLeftover.session_id)
        )
        return list(rows)

    async def cards(self, session_id: int) -> list[CardRecord]:
        rows = await self._session.scalars(
            select(SessionCard)
            .where(SessionCard.session_id == session_id)
            .order_by(SessionCard.user_id)
        )
        return [_card(row) for row in rows]

    async def count_live(self) -> int:
        return int(
            await self._session.scalar(select(func.count()).where(StretchSession.live.is_(True)))
            or 0
        )


def _card(row: SessionCard) -> CardRecord:
    return CardRecord(
        row.user_id, row.chat_id, row.message_id, row.version, row.kind, row.shows, row.landed
    )
