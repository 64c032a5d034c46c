"""The sessions' outbox: the card each phone is owed for a session's newest version."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OwedCard, StretchSession
from storage.records import OwedCardRecord
from storage.upsert import conflict_insert

OWED = "owed"
SENT = "sent"
UNREACHABLE = "unreachable"


def _record(row: OwedCard) -> OwedCardRecord:
    return OwedCardRecord(row.session_id, row.user_id, row.version, row.kind)


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def owe(
        self,
        session_id: int,
        user_ids: Sequence[int],
        version: int,
        kind: str,
        now: datetime,
    ) -> None:
        """Owe each of `user_ids` the card of `version`, replacing any older card owed."""
        if not user_ids:
            return
        statement = conflict_insert(self._session, OwedCard).values(
            [
                dict(
                    session_id=session_id,
                    user_id=user_id,
                    version=version,
                    kind=kind,
                    status=OWED,
                    owed_at=now,
                    settled_at=None,
                )
                for user_id in user_ids
            ]
        )
        # Every row gets the same values, known here: set them directly, as
        # storage.upsert does, instead of building `excluded` (an aliased table copy).
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=["session_id", "user_id"],
                set_={
                    "version": version,
                    "kind": kind,
                    "status": OWED,
                    "owed_at": now,
                    "settled_at": None,
                },
            )
        )

    async def sent(
        self, session_id: int, version: int, user_ids: Sequence[int], now: datetime
    ) -> None:
        """Telegram accepted the cards of `version` for these people."""
        await self._settle(session_id, version, user_ids, SENT, now)

    async def unreachable(
        self, session_id: int, version: int, user_ids: Sequence[int], now: datetime
    ) -> None:
        """Telegram refused these people (blocked, never started): stop trying."""
        await self._settle(session_id, version, user_ids, UNREACHABLE, now)

    async def _settle(
        self,
        session_id: int,
        version: int,
        user_ids: Sequence[int],
        status: str,
        now: datetime,
    ) -> None:
        # Only the cards of `version`: a newer card owed meanwhile stays owed.
        if not user_ids:
            return
        await self._session.execute(
            update(OwedCard)
            .where(
                OwedCard.session_id == session_id,
                OwedCard.version == version,
                OwedCard.user_id.in_(list(user_ids)),
            )
            .values(status=status, settled_at=now)
            .execution_options(synchronize_session=False)
        )

    async def owed(self, session_id: int | None = None) -> list[OwedCardRecord]:
        """Cards still owed for their session's current version (of one session, or all).

        A card owed for an older version is left out: its step is over.
        """
        query = (
            select(OwedCard)
            .join(StretchSession, StretchSession.id == OwedCard.session_id)
            .where(OwedCard.status == OWED, OwedCard.version == StretchSession.version)
            .order_by(OwedCard.session_id, OwedCard.user_id)
        )
        if session_id is not None:
            query = query.where(OwedCard.session_id == session_id)
        return [_record(row) for row in await self._session.scalars(query)]
