"""Sessions a pair finished, stored as the sessions code stores them."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from storage.records import PairRecord, SessionChange
from tests.harness import BotHarness


async def finished(
    bot: BotHarness,
    pair: PairRecord,
    local_date: date,
    ratings: dict[int, int] | None = None,
    *,
    holds: int = 6,
    end_reason: str = "completed",
    zone: str = "UTC",
) -> None:
    """A session that ended at 18:00 local on `local_date`, with these back-feel answers."""
    ended_at = datetime.combine(local_date, time(18, 0), ZoneInfo(zone))
    async with bot.app.bot_data.db.unit() as unit:
        session = await unit.sessions.add(
            pair_id=pair.id,
            routine_id="quick",
            seats=pair.members,
            origin_chat_id=pair.user_low_id,
            options={},
            change=SessionChange(phase="finished", live=False, version=9, deadline=None, state={}),
            now=ended_at,
        )
        result = await unit.results.record(
            session_id=session.id,
            pair_id=pair.id,
            routine_id="quick",
            end_reason=end_reason,
            holds_done=holds,
            exercises_done=holds // 2,
            seconds_stretched=holds * 30,
            local_date=local_date,
            ended_at=ended_at,
        )
        for user_id, rating in (ratings or {}).items():
            await unit.results.rate(result.id, user_id, rating, ended_at)
        await unit.commit()


def daily(first: date, count: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(count)]
