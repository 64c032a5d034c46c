"""Remembering who talks to the bot."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from bot.services.resources import Resources
from storage.records import UserRecord


class _Named(Protocol):
    """Anything that names an account the way Telegram does (a `telegram.User`, say)."""

    @property
    def id(self) -> int: ...

    @property
    def first_name(self) -> str: ...

    @property
    def username(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Account:
    """What the services need of a Telegram account: handlers copy it from the update."""

    id: int
    first_name: str
    username: str | None = None

    @classmethod
    def of(cls, user: _Named) -> Account:
        return cls(user.id, user.first_name, user.username)


async def remember(data: Resources, account: Account, *, reachable: bool | None) -> UserRecord:
    """Store or refresh a Telegram user; `reachable=None` keeps what we knew."""
    async with data.db.unit() as unit:
        record = await unit.users.remember(
            account.id,
            account.first_name,
            account.username,
            data.clock.now(),
            reachable=reachable,
        )
        await unit.commit()
    return record


async def by_id(data: Resources, user_ids: Iterable[int]) -> dict[int, UserRecord]:
    """The users we know among `user_ids`, by id (for their names and reachability)."""
    async with data.db.unit() as unit:
        return await unit.users.get_many(list(user_ids))


async def mark_unreachable(data: Resources, user_id: int) -> None:
    """Telegram refused a message to this user: they blocked the bot or never started it."""
    async with data.db.unit() as unit:
        await unit.users.set_reachable(user_id, False, data.clock.now())
        await unit.commit()
