"""Daily reminders: slots, pauses, the buttons on a reminder, and claiming what is due.

Exactly once, per partner. A reminder exists as a delivery row, unique per (pair, slot,
local date), written in the same transaction that moves its slot to the next due
instant, together with one copy row per partner. Each copy is sent after that commit
and marked on its own in a second short transaction:

- sent: done; the reminder counts as sent once any partner's copy is.
- 403 (blocked, or never opened a chat): unreachable, and the other partner is told once.
- a passing failure (500, timeout, dropped connection, 429): the copy waits and is tried
  again with a growing backoff, alone, while the reminder is inside the grace window;
  the partner who got it gets nothing twice. Telegram refusing the request (400) is not
  passing: that copy is given up.
- stopped after the claim, before the mark: the copy stays `sending`; once it is older
  than `RECLAIM_AFTER`, the next tick of any process takes it over (a compare-and-set on
  its status and claim instant) and sends it, or records it late. The slot already
  moved, so nothing claims the reminder again.
- stopped after Telegram accepted a copy but before the mark committed: the only
  duplicate there can be, the takeover sends that partner's copy again. The window is
  one chunk of concurrent sends (a few HTTP round trips); we prefer a rare duplicate to a
  lost reminder.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.context import BotData
from routines.reminder_time import Due, Weekdays, is_still_useful, next_due, pause_until
from storage.records import PairRecord, ReminderDeliveryRecord, ReminderSlotRecord
from storage.repositories.reminders import UNSETTLED, CopyStatus, DeliveryStatus
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

MAX_SLOTS = 4
SNOOZE = timedelta(minutes=15)
_JUST_BEFORE = timedelta(microseconds=1)
# Longer than one claimed batch takes to send at Telegram's 30 messages a second, so a
# live process never loses its batch to another; short enough to recover soon.
RECLAIM_AFTER = timedelta(minutes=3)
# A copy whose send failed waits 5 s, then 15 s, 45 s, ... at most 5 minutes, and is
# tried until the grace window closes.
FIRST_RETRY = timedelta(seconds=5)
RETRY_GROWTH = 3
LONGEST_RETRY = timedelta(minutes=5)


def zone_of(pair: PairRecord) -> ZoneInfo:
    try:
        return ZoneInfo(pair.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("pair %s has an unknown time zone %r; using UTC", pair.id, pair.timezone)
        return ZoneInfo("UTC")


def local_today(pair: PairRecord, now: datetime) -> date:
    return now.astimezone(zone_of(pair)).date()


def is_paused(pair: PairRecord, now: datetime) -> bool:
    return pair.reminders_paused_until is not None and pair.reminders_paused_until > now


# -- commands --------------------------------------------------------------------------


class TooManySlots(Exception):
    """The pair has MAX_SLOTS slots already and asked for a new time."""


@dataclass(frozen=True, slots=True)
class SlotSet:
    slot: ReminderSlotRecord
    added: bool
    pair: PairRecord


async def add_slot(
    data: BotData, pair_id: int, local_time: time, weekdays: int, now: datetime
) -> SlotSet:
    """Add a slot (or give the one at that time new days) and schedule it at once."""
    async with data.db.unit() as unit:
        pair = await unit.pairs.get(pair_id)
        if pair is None:
            raise LookupError(pair_id)
        slots = await unit.reminders.slots_of(pair_id)
        if len(slots) >= MAX_SLOTS and all(s.local_time != local_time for s in slots):
            raise TooManySlots
        due = next_due(local_time, Weekdays(weekdays), zone_of(pair), now)
        slot, added = await unit.reminders.put_slot(pair_id, local_time, weekdays, due.at_utc, now)
        await unit.commit()
    return SlotSet(slot, added, pair)


async def slots(data: BotData, pair_id: int) -> tuple[PairRecord, list[ReminderSlotRecord]]:
    async with data.db.unit() as unit:
        pair = await unit.pairs.get(pair_id)
        if pair is None:
            raise LookupError(pair_id)
        return pair, await unit.reminders.slots_of(pair_id)


async def remove_slot(data: BotData, pair_id: int, slot_id: int) -> bool:
    """Remove one of the pair's slots; False when it is gone already (a second tap)."""
    async with data.db.unit() as unit:
        slot = await unit.reminders.slot(slot_id)
        if slot is None or slot.pair_id != pair_id:
            return False
        removed = await unit.reminders.remove_slot(slot_id)
        await unit.commit()
    return removed


async def pause(data: BotData, pair: PairRecord, days: int, now: datetime) -> datetime:
    """No reminders from today for `days` local dates; the instant they come back."""
    until = pause_until(now, days, zone_of(pair))
    async with data.db.unit() as unit:
        await unit.reminders.pause(pair.id, until)
        await unit.commit()
    return until


async def resume(data: BotData, pair: PairRecord, now: datetime) -> datetime | None:
    """End a pause; the next due instant of the pair, or None if it has no slots."""
    async with data.db.unit() as unit:
        await unit.reminders.pause(pair.id, None)
        pending = await unit.reminders.slots_of(pair.id)
        await unit.commit()
    return min((slot.next_due_at for slot in pending), default=None)


async def reschedule_pair(unit_or_data: UnitOfWork | BotData, pair_id: int, now: datetime) -> None:
    """Move every slot of the pair to its next due instant after `now`, in its zone.

    Call it after the pair's time zone changed. Given a unit of work, it writes in that
    transaction and the caller commits; given the bot's data, it commits itself.
    """
    if isinstance(unit_or_data, UnitOfWork):
        await _reschedule(unit_or_data, pair_id, now)
        return
    async with unit_or_data.db.unit() as unit:
        await _reschedule(unit, pair_id, now)
        await unit.commit()


async def _reschedule(unit: UnitOfWork, pair_id: int, now: datetime) -> None:
    pair = await unit.pairs.get(pair_id)
    if pair is None:
        return
    zone = zone_of(pair)
    await unit.reminders.move_slots(
        (slot.id, next_due(slot.local_time, Weekdays(slot.weekdays), zone, now).at_utc)
        for slot in await unit.reminders.slots_of(pair_id)
    )


# -- the buttons on a reminder ---------------------------------------------------------


class Tap(Enum):
    DONE = "done"
    NOT_YOURS = "not-yours"
    GONE = "gone"
    ALREADY = "already"
    TOO_LATE = "too-late"


@dataclass(frozen=True, slots=True)
class TapResult:
    outcome: Tap
    pair: PairRecord | None = None
    until: datetime | None = None


async def snooze(data: BotData, delivery_id: int, user_id: int, now: datetime) -> TapResult:
    """Send this reminder once more in 15 minutes; once per reminder."""
    async with data.db.unit() as unit:
        found = await _delivery_of_member(unit, delivery_id, user_id)
        if isinstance(found, TapResult):
            return found
        delivery, pair = found
        until = now + SNOOZE
        moved = await unit.reminders.transition(
            [delivery_id],
            DeliveryStatus.SNOOZED,
            only_from=(DeliveryStatus.CLAIMED, DeliveryStatus.SENT),
            snooze_due_at=until,
        )
        await unit.commit()
    if moved:
        return TapResult(Tap.DONE, pair, until)
    if delivery.status in (DeliveryStatus.SNOOZED, DeliveryStatus.RESENDING):
        return TapResult(Tap.ALREADY, pair, delivery.snooze_due_at)
    return TapResult(Tap.TOO_LATE, pair)


async def skip_today(data: BotData, delivery_id: int, user_id: int, now: datetime) -> TapResult:
    """No more reminders for the pair today, a snoozed one included."""
    async with data.db.unit() as unit:
        found = await _delivery_of_member(unit, delivery_id, user_id)
        if isinstance(found, TapResult):
            return found
        _, pair = found
        today = local_today(pair, now)
        if pair.reminders_skipped_on == today:
            return TapResult(Tap.ALREADY, pair)
        await unit.reminders.skip_day(pair.id, today)
        await unit.reminders.cancel_snoozes(pair.id, today)
        await unit.commit()
    return TapResult(Tap.DONE, pair)


async def _delivery_of_member(
    unit: UnitOfWork, delivery_id: int, user_id: int
) -> tuple[ReminderDeliveryRecord, PairRecord] | TapResult:
    delivery = await unit.reminders.delivery(delivery_id)
    pair = None if delivery is None else await unit.pairs.get(delivery.pair_id)
    if delivery is None or pair is None:
        return TapResult(Tap.GONE)
    if not pair.has_member(user_id):
        return TapResult(Tap.NOT_YOURS)
    return delivery, pair


# -- the dispatcher's side -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A reminder to send now, to the partners in `to`: claimed, not yet marked."""

    delivery_id: int
    pair: PairRecord
    local_date: date
    again: bool  # a snoozed reminder, sent a second time
    names: dict[int, str]
    claimed_at: datetime  # the claim of these copies, checked when they are marked
    to: dict[int, int]  # partner -> failed attempts of that copy so far
    # The same round's copies settled earlier (the other partner's): partner -> status.
    earlier: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Claim:
    outgoing: list[Outgoing]
    claimed: int  # rows the claim looked at; a full batch means there may be more


@dataclass(slots=True)
class SendResult:
    """What Telegram answered for each copy of one reminder."""

    item: Outgoing
    reached: list[int] = field(default_factory=list)
    unreachable: list[int] = field(default_factory=list)
    # A passing failure: partner -> the least wait Telegram asked for (429), in seconds.
    failed: dict[int, float] = field(default_factory=dict)
    refused: list[int] = field(default_factory=list)

    @property
    def delivery_id(self) -> int:
        return self.item.delivery_id

    @property
    def again(self) -> bool:
        return self.item.again

    def told_of_unreachable(self) -> list[int]:
        """Partners to tell that the other could not be reached: once per reminder.

        Told when the second of the two outcomes becomes known, whichever attempt that
        is; a snoozed reminder goes out without repeating it.
        """
        if self.item.again:
            return []
        outcome = dict(self.item.earlier)
        outcome.update({m: CopyStatus.SENT for m in self.reached})
        outcome.update({m: CopyStatus.UNREACHABLE for m in self.unreachable})
        reached = [m for m, status in outcome.items() if status == CopyStatus.SENT]
        unreachable = [m for m, status in outcome.items() if status == CopyStatus.UNREACHABLE]
        now_known = set(self.reached) | set(self.unreachable)
        if reached and unreachable and now_known & (set(reached) | set(unreachable)):
            return reached
        return []


def retry_delay(attempts: int, asked: float = 0.0) -> timedelta:
    """How long a copy waits after its `attempts`-th failed send."""
    growth: int = RETRY_GROWTH ** max(attempts - 1, 0)
    grown = FIRST_RETRY * growth
    return max(min(grown, LONGEST_RETRY), timedelta(seconds=asked))


@dataclass(frozen=True, slots=True)
class _Decision:
    slot: ReminderSlotRecord
    pair: PairRecord
    occurrence: Due  # the one this delivery is for
    next_due_at: datetime
    late: bool

    @property
    def local_date(self) -> date:
        return self.occurrence.local_date


def decide(
    slot: ReminderSlotRecord, pair: PairRecord, now: datetime, grace: timedelta
) -> _Decision:
    """Which occurrence of a due slot to deliver now, and when the slot is due next.

    After downtime the stored instant may be long past: the newest occurrence still
    inside the grace window is sent instead; with none, the stored one is recorded as
    skipped for being late.
    """
    zone, days = zone_of(pair), Weekdays(slot.weekdays)
    # The stored instant with the local date it was scheduled for (a gap can move it).
    occurrence = next_due(slot.local_time, days, zone, slot.next_due_at - _JUST_BEFORE)
    late = not is_still_useful(occurrence.at_utc, now, grace)
    if late:
        recent = next_due(slot.local_time, days, zone, now - grace - _JUST_BEFORE)
        if recent.at_utc <= now:
            occurrence, late = recent, False
    after = max(occurrence.at_utc, now) if late else occurrence.at_utc
    return _Decision(
        slot=slot,
        pair=pair,
        occurrence=occurrence,
        next_due_at=next_due(slot.local_time, days, zone, after).at_utc,
        late=late,
    )


def _status(
    pair: PairRecord, local_date: date, at: datetime, late: bool, stretched: set[tuple[int, date]]
) -> DeliveryStatus:
    if late:
        return DeliveryStatus.LATE_SKIPPED
    if is_paused(pair, at):
        return DeliveryStatus.PAUSED
    if pair.reminders_skipped_on == local_date:
        return DeliveryStatus.SKIPPED
    if (pair.id, local_date) in stretched:
        return DeliveryStatus.DONE
    return DeliveryStatus.CLAIMED


async def claim_due(data: BotData, now: datetime, limit: int) -> Claim:
    """Claim up to `limit` due slots: one delivery row each, slots moved on, committed."""
    grace = timedelta(minutes=data.settings.reminder_grace_minutes)
    async with data.db.unit() as unit:
        due = await unit.reminders.lock_due_slots(now, limit)
        if not due:
            return Claim([], 0)
        decisions = [decide(slot, pair, now, grace) for slot, pair in due]
        # A stored instant that is not one of the slot's own (a zone changed without a
        # reschedule) only moves the slot to its real next occurrence.
        moved_only = [d for d in decisions if d.occurrence.at_utc > now]
        decisions = [d for d in decisions if d.occurrence.at_utc <= now]
        stretched = await unit.reminders.stretched_on_days(
            (d.pair.id, d.local_date) for d in decisions if not d.late
        )
        statuses = {
            d.slot.id: _status(d.pair, d.local_date, d.occurrence.at_utc, d.late, stretched)
            for d in decisions
        }
        written = await unit.reminders.add_deliveries(
            [
                dict(
                    pair_id=d.pair.id,
                    slot_id=d.slot.id,
                    local_date=d.local_date,
                    due_at=d.occurrence.at_utc,
                    claimed_at=now,
                    status=statuses[d.slot.id],
                )
                for d in decisions
            ]
        )
        await unit.reminders.move_slots(
            [(d.slot.id, d.next_due_at) for d in decisions]
            + [(d.slot.id, d.occurrence.at_utc) for d in moved_only]
        )
        to_send = [
            (written[(d.slot.id, d.local_date)], d.pair, d.local_date)
            for d in decisions
            if statuses[d.slot.id] is DeliveryStatus.CLAIMED
            and (d.slot.id, d.local_date) in written
        ]
        outgoing = await _first_copies(unit, to_send, again=False, now=now)
        await unit.commit()
    return Claim(outgoing, len(due))


async def claim_snoozes(data: BotData, now: datetime, limit: int) -> Claim:
    """Claim snoozed reminders whose 15 minutes are up: each goes out once more."""
    grace = timedelta(minutes=data.settings.reminder_grace_minutes)
    async with data.db.unit() as unit:
        due = await unit.reminders.lock_due_snoozes(now, limit)
        if not due:
            return Claim([], 0)
        stretched = await unit.reminders.stretched_on_days(
            (d.pair_id, d.local_date) for d, _ in due
        )
        by_status: dict[DeliveryStatus, list[int]] = {}
        for delivery, pair in due:
            assert delivery.snooze_due_at is not None
            late = not is_still_useful(delivery.snooze_due_at, now, grace)
            status = _status(pair, delivery.local_date, now, late, stretched)
            if status is DeliveryStatus.CLAIMED:
                status = DeliveryStatus.RESENDING
            by_status.setdefault(status, []).append(delivery.id)
        moved: list[int] = []
        for status, ids in by_status.items():
            # Only waiting snoozes keep `snooze_due_at`, so its index stays small.
            done = await unit.reminders.transition(
                ids,
                status,
                only_from=(DeliveryStatus.SNOOZED,),
                claimed_at=now,
                snooze_due_at=None,
            )
            if status is DeliveryStatus.RESENDING:
                moved = done
        ready = set(moved)
        outgoing = await _first_copies(
            unit, [(d.id, p, d.local_date) for d, p in due if d.id in ready], again=True, now=now
        )
        await unit.commit()
    return Claim(outgoing, len(due))


async def claim_copies(data: BotData, now: datetime, limit: int) -> Claim:
    """Copies to send again: failed sends whose retry is due, and claims a stopped
    process left unmarked. Each goes to its own partner only."""
    grace = timedelta(minutes=data.settings.reminder_grace_minutes)
    async with data.db.unit() as unit:
        due = await unit.reminders.lock_copies_due(now, now - RECLAIM_AFTER, limit)
        if not due:
            return Claim([], 0)
        stretched = await unit.reminders.stretched_on_days(
            (d.pair_id, d.local_date) for _, d, _ in due
        )
        changes: list[dict[str, object]] = []
        sending: dict[tuple[int, bool], dict[int, int]] = {}
        rounds: dict[tuple[int, bool], tuple[ReminderDeliveryRecord, PairRecord]] = {}
        for copy, delivery, pair in due:
            key = (delivery.id, copy.again)
            rounds[key] = (delivery, pair)
            live = (
                (DeliveryStatus.RESENDING, DeliveryStatus.RESENT)
                if copy.again
                else (DeliveryStatus.CLAIMED, DeliveryStatus.SENT)
            )
            # A snoozed reminder's second round was claimed when its snooze came due.
            reminded_at = delivery.claimed_at if copy.again else delivery.due_at
            if (
                delivery.status not in live
                or is_paused(pair, now)
                or (pair.id, delivery.local_date) in stretched
            ):
                status = CopyStatus.SUPERSEDED
            elif not is_still_useful(reminded_at, now, grace):
                status = CopyStatus.LATE
            else:
                status = CopyStatus.SENDING
                sending.setdefault(key, {})[copy.user_id] = copy.attempts
                if copy.status == CopyStatus.SENDING:
                    log.info(
                        "taking over reminder %s to user %s left unsent by a stopped process",
                        delivery.id,
                        copy.user_id,
                    )
            changes.append(
                _change(copy.delivery_id, copy.user_id, copy.again, copy.status, copy.claimed_at)
                | dict(status=status, attempts=copy.attempts, claimed_at=now)
            )
        await unit.reminders.move_copies(changes)
        await _settle(unit, set(rounds), now)
        copies = await unit.reminders.copies_of(delivery_id for delivery_id, _ in sending)
        names = await unit.reminders.first_names(
            m for _, pair in rounds.values() for m in pair.members
        )
        outgoing = []
        for (delivery_id, again), to in sending.items():
            delivery, pair = rounds[(delivery_id, again)]
            outgoing.append(
                Outgoing(
                    delivery_id=delivery_id,
                    pair=pair,
                    local_date=delivery.local_date,
                    again=again,
                    names={m: names.get(m, "your partner") for m in pair.members},
                    claimed_at=now,
                    to=to,
                    earlier={
                        c.user_id: c.status
                        for c in copies
                        if c.delivery_id == delivery_id
                        and c.again == again
                        and c.user_id not in to
                        and c.status not in UNSETTLED
                    },
                )
            )
        await unit.commit()
    return Claim(outgoing, len(due))


async def _first_copies(
    unit: UnitOfWork,
    rows: Sequence[tuple[int, PairRecord, date]],
    *,
    again: bool,
    now: datetime,
) -> list[Outgoing]:
    """A copy in flight for each partner of each reminder just claimed, and what to send."""
    if not rows:
        return []
    await unit.reminders.add_copies(
        [
            dict(
                delivery_id=delivery_id,
                user_id=member,
                again=again,
                status=CopyStatus.SENDING,
                attempts=0,
                claimed_at=now,
            )
            for delivery_id, pair, _ in rows
            for member in pair.members
        ]
    )
    names = await unit.reminders.first_names(m for _, pair, _ in rows for m in pair.members)
    return [
        Outgoing(
            delivery_id=delivery_id,
            pair=pair,
            local_date=local_date,
            again=again,
            names={m: names.get(m, "your partner") for m in pair.members},
            claimed_at=now,
            to={member: 0 for member in pair.members},
        )
        for delivery_id, pair, local_date in rows
    ]


def _change(
    delivery_id: int, user_id: int, again: bool, from_status: str, from_claimed_at: datetime
) -> dict[str, object]:
    """The start of a compare-and-set on one copy; the caller adds where it moves to."""
    return dict(
        delivery_id=delivery_id,
        user_id=user_id,
        again=again,
        from_status=from_status,
        from_claimed_at=from_claimed_at,
        retry_at=None,
        sent_at=None,
    )


def _round_outcome(statuses: Sequence[str], again: bool) -> DeliveryStatus | None:
    """What a reminder's round comes to from its copies; None while any is unsettled."""
    if CopyStatus.SENT in statuses:
        return DeliveryStatus.RESENT if again else DeliveryStatus.SENT
    if any(status in UNSETTLED for status in statuses):
        return None
    if all(status == CopyStatus.UNREACHABLE for status in statuses):
        return DeliveryStatus.UNREACHABLE
    if CopyStatus.REFUSED in statuses:
        return DeliveryStatus.FAILED
    return DeliveryStatus.LATE_SKIPPED


async def _settle(unit: UnitOfWork, rounds: set[tuple[int, bool]], now: datetime) -> None:
    """Move each reminder still in flight to what its copies came to, if they decide it."""
    if not rounds:
        return
    copies = await unit.reminders.copies_of(delivery_id for delivery_id, _ in rounds)
    moves: dict[tuple[DeliveryStatus, bool], list[int]] = {}
    for delivery_id, again in rounds:
        statuses = [c.status for c in copies if c.delivery_id == delivery_id and c.again == again]
        outcome = _round_outcome(statuses, again) if statuses else None
        if outcome is not None:
            moves.setdefault((outcome, again), []).append(delivery_id)
    for (outcome, again), ids in moves.items():
        in_flight = DeliveryStatus.RESENDING if again else DeliveryStatus.CLAIMED
        extra = {"sent_at": now} if outcome is DeliveryStatus.SENT else {}
        await unit.reminders.transition(ids, outcome, only_from=(in_flight,), **extra)


def _marked(
    item: Outgoing, member: int, status: CopyStatus, **values: object
) -> dict[str, object]:
    """A sent copy's mark: from `sending` under this claim to `status`."""
    start = _change(item.delivery_id, member, item.again, CopyStatus.SENDING, item.claimed_at)
    return (
        start | dict(status=status, attempts=item.to[member], claimed_at=item.claimed_at) | values
    )


async def record_sends(data: BotData, results: Sequence[SendResult], now: datetime) -> None:
    """Mark each partner's copy as Telegram answered it, in one transaction."""
    changes: list[dict[str, object]] = []
    for result in results:
        item = result.item
        changes += [_marked(item, m, CopyStatus.SENT, sent_at=now) for m in result.reached]
        changes += [_marked(item, m, CopyStatus.UNREACHABLE) for m in result.unreachable]
        changes += [_marked(item, m, CopyStatus.REFUSED) for m in result.refused]
        for member, asked in result.failed.items():
            attempts = item.to[member] + 1
            retry_at = now + retry_delay(attempts, asked)
            changes.append(
                _marked(item, member, CopyStatus.WAITING, attempts=attempts, retry_at=retry_at)
            )
    unreachable = sorted({user for r in results for user in r.unreachable})
    async with data.db.unit() as unit:
        await unit.reminders.move_copies(changes)
        for user_id in unreachable:
            await unit.users.set_reachable(user_id, False, now)
        await _settle(unit, {(r.delivery_id, r.again) for r in results}, now)
        await unit.commit()


async def soonest_due(data: BotData) -> datetime | None:
    async with data.db.unit() as unit:
        return await unit.reminders.soonest_due()
