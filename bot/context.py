"""The typed context every handler receives, what the application holds, and its type."""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from typing import Any, Protocol, TypeAlias

from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.metrics import Metrics
from bot.progress_chart import ChartRenderer
from routines.model import Routine
from routines.plan import Plan, PlanOptions, build_plan
from storage.db import Database


class Waker(Protocol):
    """The local poller of session timers, as the code that arms a timer sees it."""

    def wake(self, due: datetime) -> None:
        """Look for due timers at `due` (on the bot's clock), if that is sooner."""
        ...


class BotData:
    """Process-wide resources: set up by `build_application` and `post_init`.

    PTB builds this with no arguments, so the fields start empty and the accessors
    say clearly when something is used before start-up finished.
    """

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._database: Database | None = None
        self.clock: Clock = SystemClock()
        self.bot_username: str = ""
        self.library: dict[str, Routine] = {}
        # build_application hands in the one its request and update processor count into.
        self.metrics = Metrics()
        # Plans are pure functions of routine and options: build each one once.
        self._plans: dict[tuple[str, PlanOptions], Plan] = {}
        # Draws /progress charts in a worker process, started on the first chart.
        self.charts = ChartRenderer()
        # Names this process's timer claims among the workers sharing the database; new
        # on every start, so a restarted worker never mistakes a dead one's claim for its own.
        self.worker_id = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        # Set in post_init (bot/timer_poller.py); None until then, and in tools.
        self.timer_waker: Waker | None = None

    def plan(self, routine_id: str, options: PlanOptions) -> Plan:
        key = (routine_id, options)
        if key not in self._plans:
            self._plans[key] = build_plan(self.library[routine_id], options)
        return self._plans[key]

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            raise RuntimeError("settings are not configured")
        return self._settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        self._settings = value

    @property
    def db(self) -> Database:
        if self._database is None:
            raise RuntimeError("the database is opened in post_init; it is not open yet")
        return self._database

    @db.setter
    def db(self, value: Database | None) -> None:
        self._database = value


Context: TypeAlias = CallbackContext[
    ExtBot[Any], dict[object, object], dict[object, object], BotData
]


BotApplication: TypeAlias = Application[
    ExtBot[Any], Context, dict[object, object], dict[object, object], BotData, JobQueue[Context]
]
"""The application as `bot.app` builds it; handler modules register on it."""
