"""Users: who the bot knows and whether it may write to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import User
from storage.records import UserRecord
from storage.upsert import insert_or_ignore


def _record(row: User) -> UserRecord:
    return UserRecord(
        id=row.id,
        first_name=row.first_name,
        username=row.username,
        reachable=row.reachable,
        timezone=row.timezone,
        safety_acknowledged_at=row.safety_acknowledged_at,
    )


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: int) -> UserRecord | None:
        row = await self._session.get(User, user_id)
        return None if row is None else _record(row)

    async def get_many(self, user_ids: list[int]) -> dict[int, UserRecord]:
        rows = await self._session.scalars(select(User).where(User.id.in_(user_ids)))
        return {row.id: _record(row) for row in rows}

    async def remember(
        self,
        user_id: int,
        first_name: str,
        username: str | None,
        now: datetime,
        *,
        reachable: bool | None = None,
    ) -> UserRecord:
        """Insert or refresh a user; `reachable=None` leaves what we knew unchanged."""
        await self._session.execute(
            insert_or_ignore(
                self._session,
                User,
                dict(
                    id=user_id,
                    first_name=first_name,
                    username=username,
                    reachable=bool(reachable),
                    created_at=now,
                    updated_at=now,
                ),
            )
        )
        values: dict[str, object] = dict(first_name=first_name, username=username, updated_at=now)
        if reachable is not None:
            values["reachable"] = reachable
        await self._session.execute(update(User).where(User.id == user_id).values(**values))
        row = await self._session.get(User, user_id, populate_existing=True)
        assert row is not None
        return _record(row)

    async def set_timezone(self, user_id: int, timezone: str, now: datetime) -> None:
        await self._session.execute(
            update(User).where(User.id == user_id).values(timezone=timezone, updated_at=now)
        )

    async def acknowledge_safety(self, user_id: int, now: datetime) -> None:
        """The user tapped Got it under the safety note; the first time is the one kept."""
        await self._session.execute(
            update(User)
            .where(User.id == user_id, User.safety_acknowledged_at.is_(None))
            .values(safety_acknowledged_at=now, updated_at=now)
        )

    async def lock(self, user_ids: list[int]) -> None:
        """Hold these users' rows until the unit ends, so two units acting for the same
        people take turns (PostgreSQL; SQLite's writing units take turns anyway)."""
        await self._session.execute(
            select(User.id).where(User.id.in_(sorted(user_ids))).with_for_update()
        )

    async def set_reachable(self, user_id: int, reachable: bool, now: datetime) -> None:
        await self._session.execute(
            update(User).where(User.id == user_id).values(reachable=reachable, updated_at=now)
        )
