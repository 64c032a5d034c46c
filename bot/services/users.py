"""Remembering who talks to the bot."""

from __future__ import annotations

from telegram import User

from bot.context import BotData
from storage.records import UserRecord


async def remember(data: BotData, user: User, *, reachable: bool | None) -> UserRecord:
    """Store or refresh a Telegram user; `reachable=None` keeps what we knew."""
    async with data.db.unit() as unit:
        record = await unit.users.remember(
            user.id, user.first_name, user.username, data.clock.now(), reachable=reachable
        )
        await unit.commit()
    return record
