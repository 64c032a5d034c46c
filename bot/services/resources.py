"""What a service may use: the database, the clock, the settings and the plans.

Services take this narrow view instead of the bot's whole `BotData`, so they can be
built and tested without python-telegram-bot. `BotData` satisfies it as it is.
"""

from __future__ import annotations

from typing import Protocol

from bot.clock import Clock
from bot.config import Settings
from routines.plan import Plan, PlanOptions
from storage.db import Database


class Resources(Protocol):
    @property
    def db(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def worker_id(self) -> str:
        """This process among the workers sharing the database (it names its claims)."""
        ...

    def plan(self, routine_id: str, options: PlanOptions) -> Plan: ...
