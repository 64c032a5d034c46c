"""Pair requests: a /pair in a group, waiting for the named partner's tap."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import PairRequest
from storage.records import PairRequestRecord


def pair_request_record(row: PairRequest) -> PairRequestRecord:
    return PairRequestRecord(
        id=row.id,
        chat_id=row.chat_id,
        requester_id=row.requester_id,
        partner_id=row.partner_id,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        outcome=row.outcome,
    )


class PairRequestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self, chat_id: int, requester_id: int, partner_id: int, now: datetime
    ) -> PairRequestRecord:
        row = PairRequest(
            chat_id=chat_id, requester_id=requester_id, partner_id=partner_id, created_at=now
        )
        self._session.add(row)
        await self._session.flush()
        return pair_request_record(row)

    async def get(self, request_id: int) -> PairRequestRecord | None:
        row = await self._session.get(PairRequest, request_id, populate_existing=True)
        return None if row is None else pair_request_record(row)

    async def resolve(self, request_id: int, now: datetime, outcome: str) -> bool:
        """Answer the request once; False when it was already answered."""
        result = await self._session.execute(
            update(PairRequest)
            .where(PairRequest.id == request_id, PairRequest.resolved_at.is_(None))
            .values(resolved_at=now, outcome=outcome)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
