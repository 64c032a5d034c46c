"""A pair of users and a session in its lobby, written through the repositories."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.db import Database
from storage.records import SessionChange

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
ANA, BEN = 101, 202


async def lobby_session(db: Database, *, reachable: bool | None = None) -> int:
    async with db.unit() as unit:
        for user_id in (ANA, BEN):
            await unit.users.remember(user_id, f"user{user_id}", None, NOW, reachable=reachable)
        pair, _ = await unit.pairs.create(ANA, BEN, NOW)
        record = await unit.sessions.add(
            pair_id=pair.id,
            routine_id="quick",
            seats=(ANA, BEN),
            origin_chat_id=ANA,
            options={},
            change=SessionChange("lobby", True, 1, None, {}),
            now=NOW,
        )
        await unit.commit()
    return record.id
