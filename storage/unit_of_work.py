"""A unit of work: one database transaction and the repositories that share it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories.history import HistoryRepository
from storage.repositories.invites import InviteRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.pair_requests import PairRequestRepository
from storage.repositories.pairs import PairRepository
from storage.repositories.reminders import ReminderRepository
from storage.repositories.results import ResultRepository
from storage.repositories.sessions import SessionRepository
from storage.repositories.timers import TimerRepository
from storage.repositories.users import UserRepository


class UnitOfWork:
    """Repositories never commit; the service that opened the unit does."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.users = UserRepository(session)
        self.pairs = PairRepository(session)
        self.invites = InviteRepository(session)
        self.pair_requests = PairRequestRepository(session)
        self.sessions = SessionRepository(session)
        self.outbox = OutboxRepository(session)
        self.timers = TimerRepository(session)
        self.results = ResultRepository(session)
        self.reminders = ReminderRepository(session)
        self.history = HistoryRepository(session)

    async def commit(self) -> None:
        await self._session.commit()

    async def rollback(self) -> None:
        await self._session.rollback()
