"""A session as the service hands it to the runner: the stored row, the engine's state and
the partners' names, plus what a saved transition left to do.

It lives apart from the service so that the runner, which talks to Telegram, can take it
without importing the service (the runner reports back; it never calls the service).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from routines.engine import Effect, SessionState
from routines.plan import Seat
from storage.records import SessionRecord


@dataclass(frozen=True, slots=True)
class Live:
    """A session as the runner needs it: the row, the engine state, the two names."""

    record: SessionRecord
    state: SessionState
    names: tuple[str, str]
    timezone: str

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def in_group(self) -> bool:
        return self.record.origin_chat_id < 0

    @property
    def stretched(self) -> bool:
        """At least one hold ran to its end: however the session ended (completed,
        stopped, left idle), its summary shows that work, the streak and a rating."""
        return self.state.holds_done > 0

    def name_of(self, seat: Seat) -> str:
        return self.names[seat]


@dataclass(frozen=True, slots=True)
class Applied:
    """A saved transition: its effects, the seats owed a new card (in the outbox), and
    the first timer instant it wrote (this worker wakes its poller then)."""

    live: Live
    effects: tuple[Effect, ...]
    owed: tuple[Seat, ...] = ()
    wake_at: datetime | None = None
