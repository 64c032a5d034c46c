"""The people and groups who talk to the bot through the double: ids and names, as Telegram
shows them in every update."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Person:
    id: int
    first_name: str
    username: str | None = None

    def as_user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        return user


@dataclass(frozen=True)
class Group:
    id: int
    title: str
