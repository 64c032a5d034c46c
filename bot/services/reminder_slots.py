"""A pair's reminder slots and pause, and the Snooze and Skip today buttons on a reminder.

Each function is one unit of work on plain ids and values. The rules (a pair's zone, its
local day, when a slot is due) are `routines.reminder_rules`' and `reminder_time`'s; the
claim-and-deliver side of reminders is `bot.services.reminder_claims`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time
from enum import Enum
from zoneinfo import ZoneInfo

from bot.services.resources import Resources
from routines.recap import RECAP_DAY, recap_time
from routines.reminder_rules import (
    MAX_SLOTS,
    SNOOZABLE,
    SNOOZE,
    SNOOZED_BEFORE,
    DeliveryStatus,
    is_paused,
    known_zone,
    local_today,
)
from routines.reminder_time import Weekdays, next_due, pause_until
from storage.records import PairRecord, ReminderDeliveryRecord, ReminderSlotRecord
from storage.unit_of_work import UnitOfWork

__all__ = [
    "MAX_SLOTS",
    "ReminderTapOutcome",
    "Resumed",
    "SlotList",
    "SlotSet",
    "TapResult",
    "TooManySlots",
    "add_slot",
    "next_recap_at",
    "pause",
    "remove_slot",
    "reschedule_pair",
    "resume",
    "skip_today",
    "slots",
    "snooze",
    "zone_of",
]

log = logging.getLogger(__name__)


def zone_of(pair: PairRecord) -> ZoneInfo:
    """The pair's zone; UTC, with a warning, for a name this machine does not know."""
    zone = known_zone(pair.timezone)
    if zone is None:
        log.warning("pair %s has an unknown time zone %r; using UTC", pair.id, pair.timezone)
        return ZoneInfo("UTC")
    return zone


# -- commands --------------------------------------------------------------------------


class TooManySlots(Exception):
    """The pair has MAX_SLOTS slots already and asked for a new time."""


@dataclass(frozen=True, slots=True)
class SlotSet:
    slot: ReminderSlotRecord
    added: bool  # False: the slot at that time got new days
    pair: PairRecord
    paused: bool  # the pair's reminders are paused right now


@dataclass(frozen=True, slots=True)
class SlotList:
    pair: PairRecord
    slots: list[ReminderSlotRecord]
    paused_until: datetime | None  # None unless a pause is running


@dataclass(frozen=True, slots=True)
class Resumed:
    was_paused: bool
    next_due_at: datetime | None  # the pair's next reminder; None without slots


async def add_slot(
    resources: Resources, pair_id: int, local_time: time, weekdays: int, now: datetime
) -> SlotSet:
    """Add a slot (or give the one at that time new days) and schedule it at once."""
    async with resources.db.unit() as unit:
        pair = await _pair(unit, pair_id)
        slots = await unit.reminders.slots_of(pair_id)
        if len(slots) >= MAX_SLOTS and all(s.local_time != local_time for s in slots):
            raise TooManySlots
        due = next_due(local_time, Weekdays(weekdays), zone_of(pair), now)
        slot, added = await unit.reminders.put_slot(pair_id, local_time, weekdays, due.at_utc, now)
        await reschedule_recap(unit, pair, now)
        await unit.commit()
    return SlotSet(slot, added, pair, is_paused(pair.reminders_paused_until, now))


async def slots(resources: Resources, pair_id: int, now: datetime) -> SlotList:
    """The pair's slots, and until when its reminders are paused."""
    async with resources.db.unit() as unit:
        pair = await _pair(unit, pair_id)
        found = await unit.reminders.slots_of(pair_id)
    paused = is_paused(pair.reminders_paused_until, now)
    return SlotList(pair, found, pair.reminders_paused_until if paused else None)


async def remove_slot(resources: Resources, pair_id: int, slot_id: int, now: datetime) -> bool:
    """Remove one of the pair's slots; False when it is gone already (a second tap)."""
    async with resources.db.unit() as unit:
        slot = await unit.reminders.slot(slot_id)
        if slot is None or slot.pair_id != pair_id:
            return False
        removed = await unit.reminders.remove_slot(slot_id)
        pair = await unit.pairs.get(pair_id)
        if pair is not None:
            await reschedule_recap(unit, pair, now)
        await unit.commit()
    return removed


async def pause(resources: Resources, pair_id: int, days: int, now: datetime) -> datetime:
    """No reminders from today for `days` local dates; the instant they come back."""
    async with resources.db.unit() as unit:
        until = pause_until(now, days, zone_of(await _pair(unit, pair_id)))
        await unit.reminders.pause(pair_id, until)
        await unit.commit()
    return until


async def resume(resources: Resources, pair_id: int, now: datetime) -> Resumed:
    """End a pause, if one is running; and when the pair's next reminder is due."""
    async with resources.db.unit() as unit:
        pair = await _pair(unit, pair_id)
        if not is_paused(pair.reminders_paused_until, now):
            return Resumed(was_paused=False, next_due_at=None)
        await unit.reminders.pause(pair_id, None)
        pending = await unit.reminders.slots_of(pair_id)
        await unit.commit()
    return Resumed(True, min((slot.next_due_at for slot in pending), default=None))


async def reschedule_pair(unit: UnitOfWork, pair_id: int, now: datetime) -> None:
    """Move every slot of the pair to its next due instant after `now`, in its zone.

    Call it in the transaction that changed the pair's time zone; the caller commits.
    """
    pair = await unit.pairs.get(pair_id)
    if pair is None:
        return
    zone = zone_of(pair)
    await unit.reminders.move_slots(
        (slot.id, next_due(slot.local_time, Weekdays(slot.weekdays), zone, now).at_utc)
        for slot in await unit.reminders.slots_of(pair_id)
    )
    await reschedule_recap(unit, pair, now)


async def next_recap_at(unit: UnitOfWork, pair: PairRecord, now: datetime) -> datetime:
    """When the pair's weekly recap is next due after `now`, by its slots and zone."""
    times = await unit.reminders.slot_times([pair.id])
    return next_due(recap_time(times[pair.id]), RECAP_DAY, zone_of(pair), now).at_utc


async def reschedule_recap(unit: UnitOfWork, pair: PairRecord, now: datetime) -> None:
    """Move the pair's weekly recap (if on) to follow a change of its slots or zone.

    In the transaction of that change; the caller commits. A recap of this Sunday that
    went out already is not sent again: its delivery row is unique per pair and Sunday.
    """
    if pair.weekly_recap:
        await unit.reminders.move_recaps([(pair.id, await next_recap_at(unit, pair, now))])


async def _pair(unit: UnitOfWork, pair_id: int) -> PairRecord:
    pair = await unit.pairs.get(pair_id)
    if pair is None:
        raise LookupError(pair_id)
    return pair


# -- the buttons on a reminder ---------------------------------------------------------


class ReminderTapOutcome(Enum):
    """What a tap on Snooze or Skip today on a reminder came to."""

    DONE = "done"
    NOT_YOURS = "not-yours"  # the one who tapped is not in the reminder's pair
    GONE = "gone"  # no such reminder (or pair) any more
    ALREADY = "already"  # snoozed, or the day skipped, before
    TOO_LATE = "too-late"  # the reminder is past being snoozed


@dataclass(frozen=True, slots=True)
class TapResult:
    outcome: ReminderTapOutcome
    pair: PairRecord | None = None
    until: datetime | None = None  # when a snoozed reminder comes again
    # The partner's copies of this reminder on their phone, to edit alongside the tap.
    partner_messages: tuple[int, ...] = ()


async def snooze(resources: Resources, delivery_id: int, user_id: int, now: datetime) -> TapResult:
    """Send this reminder once more in 15 minutes; once per reminder."""
    async with resources.db.unit() as unit:
        found = await _delivery_of_member(unit, delivery_id, user_id)
        if isinstance(found, TapResult):
            return found
        delivery, pair = found
        until = now + SNOOZE
        moved = await unit.reminders.transition(
            [delivery_id], DeliveryStatus.SNOOZED, only_from=SNOOZABLE, snooze_due_at=until
        )
        theirs = await _partner_messages(unit, delivery_id, user_id)
        await unit.commit()
    if moved:
        return TapResult(ReminderTapOutcome.DONE, pair, until, theirs)
    if delivery.status in SNOOZED_BEFORE:
        return TapResult(ReminderTapOutcome.ALREADY, pair, delivery.snooze_due_at)
    return TapResult(ReminderTapOutcome.TOO_LATE, pair)


async def skip_today(
    resources: Resources, delivery_id: int, user_id: int, now: datetime
) -> TapResult:
    """No more reminders for the pair today, a snoozed one included."""
    async with resources.db.unit() as unit:
        found = await _delivery_of_member(unit, delivery_id, user_id)
        if isinstance(found, TapResult):
            return found
        _, pair = found
        today = local_today(zone_of(pair), now)
        if pair.reminders_skipped_on == today:
            return TapResult(ReminderTapOutcome.ALREADY, pair)
        await unit.reminders.skip_day(pair.id, today)
        await unit.reminders.cancel_snoozes(pair.id, today)
        theirs = await _partner_messages(unit, delivery_id, user_id)
        await unit.commit()
    return TapResult(ReminderTapOutcome.DONE, pair, partner_messages=theirs)


async def _partner_messages(unit: UnitOfWork, delivery_id: int, user_id: int) -> tuple[int, ...]:
    """The messages the other partner's copies of this reminder became (both rounds)."""
    copies = await unit.reminders.copies_of([delivery_id])
    return tuple(
        copy.message_id
        for copy in copies
        if copy.user_id != user_id and copy.message_id is not None
    )


async def _delivery_of_member(
    unit: UnitOfWork, delivery_id: int, user_id: int
) -> tuple[ReminderDeliveryRecord, PairRecord] | TapResult:
    delivery = await unit.reminders.delivery(delivery_id)
    pair = None if delivery is None else await unit.pairs.get(delivery.pair_id)
    if delivery is None or pair is None:
        return TapResult(ReminderTapOutcome.GONE)
    if not pair.has_member(user_id):
        return TapResult(ReminderTapOutcome.NOT_YOURS)
    if delivery.slot_id is None:
        # A weekly recap has no Snooze or Skip: such a tap is forged.
        return TapResult(ReminderTapOutcome.GONE)
    return delivery, pair
