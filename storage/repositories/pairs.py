"""Pairs: two users linked as partners."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Pair
from storage.records import PairRecord
from storage.upsert import insert_or_ignore


def pair_record(row: Pair) -> PairRecord:
    """The domain record of a pair row (reminder claims load pairs too)."""
    return PairRecord(
        id=row.id,
        user_low_id=row.user_low_id,
        user_high_id=row.user_high_id,
        timezone=row.timezone,
        home_chat_id=row.home_chat_id,
        swap_mode=row.swap_mode,
        reminders_paused_until=row.reminders_paused_until,
        reminders_skipped_on=row.reminders_skipped_on,
        created_at=row.created_at,
        first_receiver=row.first_receiver,
        last_first_id=row.last_first_id,
        default_routine=row.default_routine,
        weekly_recap=row.weekly_recap,
        recap_due_at=row.recap_due_at,
    )


# The columns `change_settings` may set.
_SETTINGS = frozenset(
    {
        "swap_mode",
        "first_receiver",
        "last_first_id",
        "default_routine",
        "weekly_recap",
        "recap_due_at",
    }
)


def ordered(first: int, second: int) -> tuple[int, int]:
    """A pair's key: the two ids, smaller first, so one couple is one row."""
    if first == second:
        raise ValueError("a pair needs two different people")
    return (first, second) if first < second else (second, first)


class PairRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, pair_id: int) -> PairRecord | None:
        row = await self._session.get(Pair, pair_id)
        return None if row is None else pair_record(row)

    async def find(self, first: int, second: int) -> PairRecord | None:
        low, high = ordered(first, second)
        row = await self._session.scalar(
            select(Pair).where(Pair.user_low_id == low, Pair.user_high_id == high)
        )
        return None if row is None else pair_record(row)

    async def of_user(self, user_id: int) -> list[PairRecord]:
        rows = await self._session.scalars(
            select(Pair)
            .where(or_(Pair.user_low_id == user_id, Pair.user_high_id == user_id))
            .order_by(Pair.created_at, Pair.id)
        )
        return [pair_record(row) for row in rows]

    async def create(
        self,
        first: int,
        second: int,
        now: datetime,
        *,
        timezone: str = "UTC",
        home_chat_id: int | None = None,
    ) -> tuple[PairRecord, bool]:
        """Link two users; returns the pair and whether this call made it.

        The unique key decides a race: two accepts at once end with one row, and the
        loser reads the winner's pair instead of failing.
        """
        low, high = ordered(first, second)
        result = await self._session.execute(
            insert_or_ignore(
                self._session,
                Pair,
                dict(
                    user_low_id=low,
                    user_high_id=high,
                    timezone=timezone,
                    home_chat_id=home_chat_id,
                    swap_mode="per-exercise",
                    created_at=now,
                    # Due at once: the first claim moves it to the pair's first Sunday.
                    recap_due_at=now,
                ),
            )
        )
        created = bool(result.rowcount)  # type: ignore[attr-defined]
        pair = await self.find(low, high)
        assert pair is not None
        return pair, created

    async def set_timezone(self, pair_id: int, timezone: str) -> None:
        row = await self._session.get(Pair, pair_id)
        if row is not None:
            row.timezone = timezone

    async def change_settings(self, pair_id: int, **values: Any) -> PairRecord | None:
        """Set some of the pair's settings columns; the pair as it now is, or None."""
        row = await self._session.get(Pair, pair_id, populate_existing=True)
        if row is None:
            return None
        for name, value in values.items():
            if name not in _SETTINGS:
                raise ValueError(f"{name} is not a pair setting")
            setattr(row, name, value)
        await self._session.flush()
        return pair_record(row)

    async def lock(self, pair_id: int) -> PairRecord | None:
        """The pair, its row locked until the transaction ends (PostgreSQL), read fresh."""
        query = select(Pair).where(Pair.id == pair_id).execution_options(populate_existing=True)
        if self._session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        row = await self._session.scalar(query)
        return None if row is None else pair_record(row)

    async def set_home_chat(self, pair_id: int, chat_id: int | None) -> None:
        row = await self._session.get(Pair, pair_id)
        if row is not None:
            row.home_chat_id = chat_id

    async def move_home(self, old_chat_id: int, new_chat_id: int) -> int:
        """Every pair at home in `old_chat_id` is now at home in `new_chat_id`; how many."""
        result = await self._session.execute(
            update(Pair).where(Pair.home_chat_id == old_chat_id).values(home_chat_id=new_chat_id)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def remove(self, pair_id: int) -> bool:
        result = await self._session.execute(delete(Pair).where(Pair.id == pair_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]
