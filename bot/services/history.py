"""A pair's past: history pages, streaks, the numbers of /progress; and the user's own
data: /export gathers it, /forget erases it.

Services take plain ids and return records; the handlers render them.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import IntEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.services.resources import Resources
from routines.progress import WEEKS, Progress, RatedSession, progress, week_start
from routines.streak import Streaks, streaks
from storage.records import FormerPartnershipRecord, HistoryEntry, PairRecord, UserRecord
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

PAGE_SIZE = 10


class Subject(IntEnum):
    """Whose history a page shows: a live pair, or a former partnership the user kept."""

    PAIR = 0
    FORMER = 1


class HistoryRefusal(IntEnum):
    GONE = 0  # the pair or partnership no longer exists
    NOT_YOURS = 1
    STALE = 2  # a page that is not there (any more): forged, or the history shrank


class HistoryRefused(Exception):
    def __init__(self, refusal: HistoryRefusal) -> None:
        super().__init__(refusal.name)
        self.refusal = refusal


@dataclass(frozen=True, slots=True)
class HistoryPage:
    subject: Subject
    subject_id: int
    page: int  # 0 is the newest
    pages: int
    entries: list[HistoryEntry]
    me: int
    # The partner's first name; None for a former partner, who is never named.
    partner: str | None
    names: dict[int, str] = field(default_factory=dict)  # for the ratings' lines

    @property
    def has_older(self) -> bool:
        return self.page + 1 < self.pages

    @property
    def has_newer(self) -> bool:
        return self.page > 0


def zone_of(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_today(timezone: str, now: datetime) -> date:
    return now.astimezone(zone_of(timezone)).date()


def _pages(total: int) -> int:
    return max(1, math.ceil(total / PAGE_SIZE))


# -- /history ----------------------------------------------------------------------------


async def former_partnerships(data: Resources, user_id: int) -> list[FormerPartnershipRecord]:
    async with data.db.unit(read_only=True) as unit:
        return await unit.history.former_of(user_id)


async def history_page(
    data: Resources, user_id: int, subject: Subject, subject_id: int, page: int
) -> HistoryPage:
    """One page of a pair's (or a former partnership's) sessions, newest first."""
    async with data.db.unit(read_only=True) as unit:
        if subject is Subject.PAIR:
            return await _pair_page(unit, user_id, subject_id, page)
        return await _former_page(unit, user_id, subject_id, page)


async def _pair_page(unit: UnitOfWork, user_id: int, pair_id: int, page: int) -> HistoryPage:
    pair = await unit.pairs.get(pair_id)
    if pair is None:
        raise HistoryRefused(HistoryRefusal.GONE)
    if not pair.has_member(user_id):
        raise HistoryRefused(HistoryRefusal.NOT_YOURS)
    pages = _pages(await unit.history.count(pair_id))
    if not 0 <= page < pages:
        raise HistoryRefused(HistoryRefusal.STALE)
    entries = await unit.history.page(pair_id, page * PAGE_SIZE, PAGE_SIZE)
    users = await unit.users.get_many(list(pair.members))
    names = {uid: user.first_name for uid, user in users.items()}
    # Members are users by foreign key, so the name is there; None would read as former.
    partner = names.get(pair.partner_of(user_id))
    return HistoryPage(Subject.PAIR, pair_id, page, pages, entries, user_id, partner, names)


async def _former_page(
    unit: UnitOfWork, user_id: int, partnership_id: int, page: int
) -> HistoryPage:
    partnership = await unit.history.former(partnership_id)
    if partnership is None:
        raise HistoryRefused(HistoryRefusal.GONE)
    if partnership.owner_id != user_id:
        raise HistoryRefused(HistoryRefusal.NOT_YOURS)
    pages = _pages(await unit.history.former_count(partnership_id))
    if not 0 <= page < pages:
        raise HistoryRefused(HistoryRefusal.STALE)
    entries = await unit.history.former_page(partnership, page * PAGE_SIZE, PAGE_SIZE)
    me = await unit.users.get(user_id)
    names = {user_id: me.first_name} if me else {}
    return HistoryPage(Subject.FORMER, partnership_id, page, pages, entries, user_id, None, names)


# -- /streak -----------------------------------------------------------------------------


async def pair_streaks(unit: UnitOfWork, pair: PairRecord, now: datetime) -> Streaks:
    """The pair's current and best streak on its local today (see `routines.streak`)."""
    today = local_today(pair.timezone, now)
    return streaks(
        await unit.history.stretched_days(pair.id, today),
        today,
        slot_weekdays=await unit.history.slot_weekdays(pair.id),
        paused=await unit.history.paused_days(pair.id),
    )


async def streak_of(data: Resources, pair_id: int, now: datetime) -> Streaks:
    async with data.db.unit(read_only=True) as unit:
        pair = await unit.pairs.get(pair_id)
        if pair is None:
            raise HistoryRefused(HistoryRefusal.GONE)
        return await pair_streaks(unit, pair, now)


# -- /progress ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PairProgress:
    progress: Progress
    # (user id, first name): the asker first, so "you" keep one colour on every chart.
    partners: tuple[tuple[int, str], ...]


async def progress_of(data: Resources, pair_id: int, me: int, now: datetime) -> PairProgress:
    async with data.db.unit(read_only=True) as unit:
        pair = await unit.pairs.get(pair_id)
        if pair is None:
            raise HistoryRefused(HistoryRefusal.GONE)
        today = local_today(pair.timezone, now)
        first_day = week_start(today) - timedelta(weeks=WEEKS - 1)
        entries = await unit.history.since(pair.id, first_day)
        users = await unit.users.get_many(list(pair.members))
    order = (me, pair.partner_of(me))
    sessions = [RatedSession(entry.local_date, entry.ratings) for entry in entries]
    partners = tuple((uid, _first_name(users.get(uid))) for uid in order)
    return PairProgress(progress(sessions, today, order), partners)


def _first_name(user: UserRecord | None) -> str:
    return user.first_name if user else "Partner"


# -- /export -----------------------------------------------------------------------------


async def export(data: Resources, user_id: int, now: datetime) -> dict[str, Any] | None:
    """Everything the bot holds about the user, as plain JSON values; None if nothing."""
    async with data.db.unit(read_only=True) as unit:
        me = await unit.users.get(user_id)
        if me is None:
            return None
        pairs = await unit.pairs.of_user(user_id)
        partners = await unit.users.get_many([pair.partner_of(user_id) for pair in pairs])
        pairs_out = []
        for pair in pairs:
            partner = partners.get(pair.partner_of(user_id))
            slots = await unit.reminders.slots_of(pair.id)
            sessions = await unit.history.page(pair.id, 0, await unit.history.count(pair.id))
            pairs_out.append(
                {
                    "pair_id": pair.id,
                    "partner": {
                        "id": pair.partner_of(user_id),
                        "first_name": partner.first_name if partner else None,
                    },
                    "time_zone": pair.timezone,
                    "home_chat_id": pair.home_chat_id,
                    "created_at": pair.created_at.isoformat(),
                    "reminders_paused_until": _iso(pair.reminders_paused_until),
                    "settings": {
                        "stretched_first": pair.first_receiver,
                        "roles_swap": pair.swap_mode,
                        "default_routine": pair.default_routine,
                        "weekly_recap": pair.weekly_recap,
                    },
                    "reminder_slots": [
                        {
                            "local_time": slot.local_time.strftime("%H:%M"),
                            "weekdays": [d for d in range(7) if slot.weekdays >> d & 1],
                            "next_due_at": slot.next_due_at.isoformat(),
                        }
                        for slot in slots
                    ],
                    "sessions": [_session(entry, user_id) for entry in sessions],
                }
            )
        former = []
        for partnership in await unit.history.former_of(user_id):
            count = await unit.history.former_count(partnership.id)
            entries = await unit.history.former_page(partnership, 0, count)
            former.append(
                {
                    "partner": "a former partner",
                    "time_zone": partnership.timezone,
                    "started_at": partnership.started_at.isoformat(),
                    "ended_at": partnership.ended_at.isoformat(),
                    "sessions": [_session(entry, user_id) for entry in entries],
                }
            )
        invites = await unit.history.invites_of(user_id)
        requests = await unit.history.pair_requests_of(user_id)
    return {
        "exported_at": now.isoformat(),
        "profile": {
            "id": me.id,
            "first_name": me.first_name,
            "username": me.username,
            "time_zone": me.timezone,
            "reachable_in_private": me.reachable,
            "safety_note_acknowledged_at": _iso(me.safety_acknowledged_at),
        },
        "pairs": pairs_out,
        "former_partnerships": former,
        "invites": [
            {
                "sent_by_you": invite.inviter_id == user_id,
                "created_at": invite.created_at.isoformat(),
                "expires_at": invite.expires_at.isoformat(),
                "used_at": _iso(invite.used_at),
                "outcome": invite.outcome,
            }
            for invite in invites
        ],
        "pair_requests": [
            {
                "asked_by_you": request.requester_id == user_id,
                "group_chat_id": request.chat_id,
                "created_at": request.created_at.isoformat(),
                "outcome": request.outcome,
            }
            for request in requests
        ],
    }


def _session(entry: HistoryEntry, me: int) -> dict[str, Any]:
    return {
        "local_date": entry.local_date.isoformat(),
        "ended_at": entry.ended_at.isoformat(),
        "routine": entry.routine_id,
        "end_reason": entry.end_reason,
        "stretches_done": entry.exercises_done,
        "holds_done": entry.holds_done,
        "seconds_stretched": entry.seconds_stretched,
        "your_back_feel": entry.ratings.get(me),
        "partner_back_feel": next((r for u, r in entry.ratings.items() if u != me), None),
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


# -- /forget -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Forgotten:
    existed: bool
    partners: int  # partnerships that ended; each partner is told by `tell_former_partners`


async def partner_names(data: Resources, user_id: int) -> list[str]:
    """The first names of the user's partners, for the confirmation."""
    async with data.db.unit(read_only=True) as unit:
        pairs = await unit.pairs.of_user(user_id)
        users = await unit.users.get_many([pair.partner_of(user_id) for pair in pairs])
    return [_first_name(users.get(pair.partner_of(user_id))) for pair in pairs]


async def forget(data: Resources, user_id: int, now: datetime) -> Forgotten:
    """Erase the user, in one transaction; each partner keeps the shared sessions.

    Each partner's share becomes a former partnership, written in the same transaction,
    whose `told_at` stays empty until Telegram accepted the notice: a failed notice is
    sent again later, and the erasure never waits for Telegram.
    """
    async with data.db.unit() as unit:
        pairs = await unit.pairs.of_user(user_id)
        await unit.users.lock(sorted({user_id, *(m for p in pairs for m in p.members)}))
        pairs = await unit.pairs.of_user(user_id)
        for pair in pairs:
            await unit.history.keep_for_partner(
                pair.id, pair.partner_of(user_id), pair.timezone, pair.created_at, now
            )
        existed = await unit.history.erase_user(user_id)
        await unit.commit()
    if existed:
        log.info("a user was forgotten; %d partnerships ended", len(pairs))
    return Forgotten(existed, len(pairs))


async def untold_partners(data: Resources, limit: int) -> list[FormerPartnershipRecord]:
    async with data.db.unit(read_only=True) as unit:
        return await unit.history.untold(limit)


async def mark_told(data: Resources, partnership_id: int, now: datetime) -> None:
    async with data.db.unit() as unit:
        await unit.history.mark_told(partnership_id, now)
        await unit.commit()
