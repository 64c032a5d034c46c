"""Invites: single-use, expiring links, kept only as a hash of their token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Invite
from storage.records import InviteRecord


def invite_record(row: Invite) -> InviteRecord:
    return InviteRecord(
        id=row.id,
        inviter_id=row.inviter_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        used_by_id=row.used_by_id,
        outcome=row.outcome,
    )


class InviteRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self, token_hash: str, inviter_id: int, now: datetime, expires_at: datetime
    ) -> InviteRecord:
        row = Invite(
            token_hash=token_hash, inviter_id=inviter_id, created_at=now, expires_at=expires_at
        )
        self._session.add(row)
        await self._session.flush()
        return invite_record(row)

    async def get(self, invite_id: int) -> InviteRecord | None:
        row = await self._session.get(Invite, invite_id, populate_existing=True)
        return None if row is None else invite_record(row)

    async def find(self, token_hash: str) -> InviteRecord | None:
        row = await self._session.scalar(
            select(Invite)
            .where(Invite.token_hash == token_hash)
            .execution_options(populate_existing=True)
        )
        return None if row is None else invite_record(row)

    async def claim(self, invite_id: int, user_id: int, now: datetime) -> bool:
        """Mark `user_id` as the one who may answer; False if someone else opened it first
        or the invite is used or expired. Opening one's claimed link again is fine."""
        result = await self._session.execute(
            update(Invite)
            .where(
                Invite.id == invite_id,
                Invite.used_at.is_(None),
                Invite.expires_at > now,
                or_(Invite.used_by_id.is_(None), Invite.used_by_id == user_id),
            )
            .values(used_by_id=user_id)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def use(self, invite_id: int, user_id: int, now: datetime, outcome: str) -> bool:
        """Spend the invite once, for the person who claimed it; False if it cannot be.

        The condition is the lock: of two answers at once, exactly one changes the row.
        """
        result = await self._session.execute(
            update(Invite)
            .where(
                Invite.id == invite_id,
                Invite.used_at.is_(None),
                Invite.used_by_id == user_id,
                Invite.expires_at > now,
            )
            .values(used_at=now, outcome=outcome)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
