"""Many pairs written straight into the tables, for benchmarks and the process tests.

For thousands of pairs the repositories, a pair at a time, would take minutes; these are
the rows the bot itself writes: partners it can reach, a pair in a time zone, daily
reminder slots with their next due instant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from sqlalchemy import insert

from bot.playground.world import World
from storage.db import Database
from storage.models import Pair, ReminderSlot, User

# Rows a statement at the most: one insert of 200,000 users would build one huge statement.
_CHUNK = 5_000
_DAILY = 127


@dataclass
class BulkPairs:
    """Rows to write, all made at `created_at`."""

    created_at: datetime
    users: list[dict[str, Any]] = field(default_factory=list)
    pairs: list[dict[str, Any]] = field(default_factory=list)
    slots: list[dict[str, Any]] = field(default_factory=list)

    def add_pair(self, low: int, high: int, zone: str = "UTC") -> int:
        """Two partners, named P<id>, who opened the bot, and their pair: its id."""
        pair_id = len(self.pairs) + 1
        for uid in (low, high):
            self.users.append(
                dict(
                    id=uid,
                    first_name=f"P{uid}",
                    username=None,
                    reachable=True,
                    created_at=self.created_at,
                    updated_at=self.created_at,
                )
            )
        self.pairs.append(
            dict(
                id=pair_id,
                user_low_id=low,
                user_high_id=high,
                timezone=zone,
                swap_mode="per-exercise",
                created_at=self.created_at,
            )
        )
        return pair_id

    def add_daily_slot(self, pair_id: int, local_time: time, due: datetime) -> None:
        self.slots.append(
            dict(
                pair_id=pair_id,
                local_time=local_time,
                weekdays=_DAILY,
                next_due_at=due,
                created_at=self.created_at,
            )
        )

    async def write(self, url: str) -> None:
        """Migrate the database at `url`, then insert every row."""
        database = Database.connect(url)
        try:
            await database.migrate()
            tables = ((User, self.users), (Pair, self.pairs), (ReminderSlot, self.slots))
            async with database.engine.begin() as connection:
                for model, rows in tables:
                    for start in range(0, len(rows), _CHUNK):
                        await connection.execute(insert(model), rows[start : start + _CHUNK])
            if database.dialect == "postgresql":
                async with database.engine.begin() as connection:
                    # The ids were given, not drawn: the bot's next pair must draw past them.
                    await connection.exec_driver_sql(
                        "SELECT setval('pairs_id_seq', (SELECT max(id) FROM pairs))"
                    )
                    await connection.exec_driver_sql("ANALYZE")
        finally:
            await database.dispose()

    @property
    def user_ids(self) -> set[int]:
        return {user["id"] for user in self.users}

    def open_chats(self, world: World) -> None:
        """Every partner as one who once pressed Start, so the bot may write to them first."""
        for user in self.users:
            world.add_private_chat({"id": user["id"], "first_name": user["first_name"]})
            world.opened.add(user["id"])
