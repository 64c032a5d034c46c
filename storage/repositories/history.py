"""Reading a pair's past for /history, /streak, /progress and /export, and keeping a
partner's share of it when the other partner asks to be forgotten."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

# A pause is recorded on the delivery (the pair's slot that day), never on a copy.
from routines.reminder_rules import DeliveryStatus
from storage.models import (
    FormerPartnership,
    FormerSession,
    Invite,
    OwedCard,
    Pair,
    PairRequest,
    ReminderDelivery,
    ReminderRecipient,
    ReminderSlot,
    SessionRating,
    SessionResult,
    StretchSession,
    User,
)
from storage.records import (
    FormerPartnershipRecord,
    HistoryEntry,
    InviteRecord,
    PairRequestRecord,
)
from storage.repositories.invites import invite_record
from storage.repositories.pair_requests import pair_request_record


def _former(row: FormerPartnership) -> FormerPartnershipRecord:
    return FormerPartnershipRecord(
        id=row.id,
        owner_id=row.owner_id,
        timezone=row.timezone,
        started_at=row.started_at,
        ended_at=row.ended_at,
        told_at=row.told_at,
    )


def _entry(row: SessionResult | FormerSession, ratings: dict[int, int]) -> HistoryEntry:
    """One line of history, from a pair's result or from a former partnership's copy."""
    return HistoryEntry(
        local_date=row.local_date,
        routine_id=row.routine_id,
        end_reason=row.end_reason,
        holds_done=row.holds_done,
        exercises_done=row.exercises_done,
        seconds_stretched=row.seconds_stretched,
        ended_at=row.ended_at,
        ratings=ratings,
    )


class HistoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # -- a pair's sessions -----------------------------------------------------------------
    async def count(self, pair_id: int) -> int:
        found = await self._session.scalar(
            select(func.count(SessionResult.id)).where(SessionResult.pair_id == pair_id)
        )
        return int(found or 0)

    async def page(self, pair_id: int, offset: int, limit: int) -> list[HistoryEntry]:
        """The pair's sessions, newest first, `limit` of them from `offset`."""
        rows = (
            await self._session.scalars(
                select(SessionResult)
                .where(SessionResult.pair_id == pair_id)
                .order_by(SessionResult.ended_at.desc(), SessionResult.id.desc())
                .offset(offset)
                .limit(limit)
            )
        ).all()
        return await self._entries(rows)

    async def since(self, pair_id: int, first_day: date) -> list[HistoryEntry]:
        """Sessions with holds done from `first_day` on, oldest first (for /progress)."""
        rows = (
            await self._session.scalars(
                select(SessionResult)
                .where(
                    SessionResult.pair_id == pair_id,
                    SessionResult.local_date >= first_day,
                    SessionResult.holds_done > 0,
                )
                .order_by(SessionResult.ended_at, SessionResult.id)
            )
        ).all()
        return await self._entries(rows)

    async def _entries(self, rows: Sequence[SessionResult]) -> list[HistoryEntry]:
        ratings: dict[int, dict[int, int]] = {row.id: {} for row in rows}
        if ratings:
            found = await self._session.execute(
                select(SessionRating.result_id, SessionRating.user_id, SessionRating.rating).where(
                    SessionRating.result_id.in_(list(ratings))
                )
            )
            for result_id, user_id, rating in found:
                ratings[result_id][user_id] = rating
        return [_entry(row, ratings[row.id]) for row in rows]

    # -- what the streak rule needs ------------------------------------------------------
    async def stretched_days(self, pair_id: int, until: date) -> set[date]:
        rows = await self._session.scalars(
            select(SessionResult.local_date)
            .where(
                SessionResult.pair_id == pair_id,
                SessionResult.local_date <= until,
                SessionResult.holds_done > 0,
            )
            .distinct()
        )
        return set(rows)

    async def paused_days(self, pair_id: int) -> set[date]:
        """Local dates on which a pause silenced one of the pair's reminders."""
        rows = await self._session.scalars(
            select(ReminderDelivery.local_date)
            .where(
                ReminderDelivery.pair_id == pair_id,
                ReminderDelivery.status == DeliveryStatus.PAUSED,
            )
            .distinct()
        )
        return set(rows)

    async def slot_weekdays(self, pair_id: int) -> int:
        """The union of the pair's reminder slots' weekday masks; 0 without slots."""
        mask = 0
        for weekdays in await self._session.scalars(
            select(ReminderSlot.weekdays).where(ReminderSlot.pair_id == pair_id)
        ):
            mask |= weekdays
        return mask

    # -- former partnerships ---------------------------------------------------------------
    async def former_of(self, owner_id: int) -> list[FormerPartnershipRecord]:
        rows = await self._session.scalars(
            select(FormerPartnership)
            .where(FormerPartnership.owner_id == owner_id)
            .order_by(FormerPartnership.ended_at, FormerPartnership.id)
        )
        return [_former(row) for row in rows]

    async def former(self, partnership_id: int) -> FormerPartnershipRecord | None:
        row = await self._session.get(FormerPartnership, partnership_id)
        return None if row is None else _former(row)

    async def former_count(self, partnership_id: int) -> int:
        found = await self._session.scalar(
            select(func.count(FormerSession.id)).where(
                FormerSession.partnership_id == partnership_id
            )
        )
        return int(found or 0)

    async def former_page(
        self, partnership: FormerPartnershipRecord, offset: int, limit: int
    ) -> list[HistoryEntry]:
        rows = await self._session.scalars(
            select(FormerSession)
            .where(FormerSession.partnership_id == partnership.id)
            .order_by(FormerSession.ended_at.desc(), FormerSession.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [
            _entry(row, {} if row.rating is None else {partnership.owner_id: row.rating})
            for row in rows
        ]

    async def keep_for_partner(
        self, pair_id: int, owner_id: int, timezone: str, started_at: datetime, now: datetime
    ) -> int:
        """Copy a pair's sessions, with the owner's ratings only, into a former partnership."""
        partnership = FormerPartnership(
            owner_id=owner_id, timezone=timezone, started_at=started_at, ended_at=now
        )
        self._session.add(partnership)
        await self._session.flush()
        rows = await self._session.execute(
            select(SessionResult, SessionRating.rating)
            .outerjoin(
                SessionRating,
                (SessionRating.result_id == SessionResult.id)
                & (SessionRating.user_id == owner_id),
            )
            .where(SessionResult.pair_id == pair_id)
        )
        self._session.add_all(
            FormerSession(
                partnership_id=partnership.id,
                routine_id=result.routine_id,
                end_reason=result.end_reason,
                holds_done=result.holds_done,
                exercises_done=result.exercises_done,
                seconds_stretched=result.seconds_stretched,
                local_date=result.local_date,
                ended_at=result.ended_at,
                rating=rating,
            )
            for result, rating in rows
        )
        await self._session.flush()
        return partnership.id

    async def untold(self, limit: int) -> list[FormerPartnershipRecord]:
        rows = await self._session.scalars(
            select(FormerPartnership)
            .where(FormerPartnership.told_at.is_(None))
            .order_by(FormerPartnership.id)
            .limit(limit)
        )
        return [_former(row) for row in rows]

    async def mark_told(self, partnership_id: int, now: datetime) -> None:
        await self._session.execute(
            update(FormerPartnership)
            .where(FormerPartnership.id == partnership_id)
            .values(told_at=now)
        )

    # -- /export and /forget ---------------------------------------------------------------
    async def invites_of(self, user_id: int) -> list[InviteRecord]:
        rows = await self._session.scalars(
            select(Invite)
            .where(or_(Invite.inviter_id == user_id, Invite.used_by_id == user_id))
            .order_by(Invite.created_at, Invite.id)
        )
        return [invite_record(row) for row in rows]

    async def pair_requests_of(self, user_id: int) -> list[PairRequestRecord]:
        rows = await self._session.scalars(
            select(PairRequest)
            .where(or_(PairRequest.requester_id == user_id, PairRequest.partner_id == user_id))
            .order_by(PairRequest.created_at, PairRequest.id)
        )
        return [pair_request_record(row) for row in rows]

    async def erase_user(self, user_id: int) -> bool:
        """Delete every row that holds the user: their pairs go with all they own.

        The foreign keys cascade from pairs to sessions, cards, results, ratings, slots
        and deliveries, and from the user to invites and pair requests; the explicit
        deletes cover rows that name the user without a foreign key. False when the
        user was not known (forgotten already).
        """
        await self._session.execute(delete(SessionRating).where(SessionRating.user_id == user_id))
        # The outbox and the reminder copies name a person without a foreign key.
        await self._session.execute(delete(OwedCard).where(OwedCard.user_id == user_id))
        await self._session.execute(
            delete(ReminderRecipient).where(ReminderRecipient.user_id == user_id)
        )
        await self._session.execute(
            delete(StretchSession).where(
                or_(StretchSession.seat_a_id == user_id, StretchSession.seat_b_id == user_id)
            )
        )
        await self._session.execute(
            delete(Pair).where(or_(Pair.user_low_id == user_id, Pair.user_high_id == user_id))
        )
        await self._session.execute(
            delete(Invite).where(or_(Invite.inviter_id == user_id, Invite.used_by_id == user_id))
        )
        await self._session.execute(
            delete(PairRequest).where(
                or_(PairRequest.requester_id == user_id, PairRequest.partner_id == user_id)
            )
        )
        result = await self._session.execute(delete(User).where(User.id == user_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]
