"""Finished sessions: history, streaks and how each partner's back felt."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SessionRating, SessionResult
from storage.records import ResultRecord
from storage.upsert import insert_or_ignore, upsert


def _record(row: SessionResult) -> ResultRecord:
    return ResultRecord(
        id=row.id,
        session_id=row.session_id,
        pair_id=row.pair_id,
        routine_id=row.routine_id,
        end_reason=row.end_reason,
        holds_done=row.holds_done,
        exercises_done=row.exercises_done,
        seconds_stretched=row.seconds_stretched,
        local_date=row.local_date,
        ended_at=row.ended_at,
    )


class ResultRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(
        self,
        *,
        session_id: int,
        pair_id: int,
        routine_id: str,
        end_reason: str,
        holds_done: int,
        exercises_done: int,
        seconds_stretched: int,
        local_date: date,
        ended_at: datetime,
    ) -> ResultRecord:
        """Store how a session ended; a second call for the same session keeps the first."""
        await self._session.execute(
            insert_or_ignore(
                self._session,
                SessionResult,
                dict(
                    session_id=session_id,
                    pair_id=pair_id,
                    routine_id=routine_id,
                    end_reason=end_reason,
                    holds_done=holds_done,
                    exercises_done=exercises_done,
                    seconds_stretched=seconds_stretched,
                    local_date=local_date,
                    ended_at=ended_at,
                ),
            )
        )
        result = await self.of_session(session_id)
        assert result is not None
        return result

    async def of_session(self, session_id: int) -> ResultRecord | None:
        row = await self._session.scalar(
            select(SessionResult).where(SessionResult.session_id == session_id)
        )
        return None if row is None else _record(row)

    async def rate(self, result_id: int, user_id: int, rating: int, now: datetime) -> None:
        """One rating per partner per session; rating again replaces the answer."""
        await self._session.execute(
            upsert(
                self._session,
                SessionRating,
                dict(result_id=result_id, user_id=user_id, rating=rating, rated_at=now),
                ["result_id", "user_id"],
            )
        )

    async def ratings(self, result_id: int) -> dict[int, int]:
        rows = await self._session.execute(
            select(SessionRating.user_id, SessionRating.rating).where(
                SessionRating.result_id == result_id
            )
        )
        return {user_id: rating for user_id, rating in rows}
