"""Claiming due reminders and marking what Telegram answered: each copy goes out once.

The weekly recap goes through the same rows: a delivery without a slot, unique per (pair,
Sunday), claimed from the pair's `recap_due_at` as a slot's is claimed from its
`next_due_at`, with the same copies, retries and takeover.

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
  than `REMINDER_TAKEOVER_SECONDS` (3 minutes by default), the next tick of any process
  takes it over (a compare-and-set on its status and claim instant) and sends it, or
  records it late. The slot already
  moved, so nothing claims the reminder again.
- stopped after Telegram accepted a copy but before the mark committed: the only
  duplicate there can be, the takeover sends that partner's copy again. The window is
  one chunk of concurrent sends (a few HTTP round trips); we prefer a rare duplicate to a
  lost reminder.

What each reminder and copy comes to is decided by `routines.reminder_rules`; this
module reads and writes the rows around those decisions. Sending is the caller's
(`bot.reminder_dispatch`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from bot.services.reminder_slots import zone_of
from bot.services.resources import Resources
from routines.recap import (
    RECAP_DAY,
    RECAP_GRACE,
    WeekNumbers,
    WeekSession,
    recap_time,
    week_numbers,
    week_of,
)
from routines.reminder_rules import (
    UNSETTLED,
    CopyStatus,
    Decision,
    DeliveryStatus,
    claim_status,
    decide,
    is_paused,
    live_round,
    partners_to_tell,
    retaken_copy_status,
    retry_delay,
    round_outcome,
)
from routines.reminder_time import Weekdays, is_still_useful
from routines.streak import streaks
from storage.records import PairRecord, ReminderDeliveryRecord, ReminderSlotRecord
from storage.unit_of_work import UnitOfWork

__all__ = [
    "Claim",
    "Outgoing",
    "SendResult",
    "claim_copies",
    "claim_due",
    "claim_recaps",
    "claim_snoozes",
    "record_sends",
    "soonest_due",
]

log = logging.getLogger(__name__)


def takeover_after(resources: Resources) -> timedelta:
    """How old an unmarked claim must be before another worker takes it over.

    Longer than one claimed batch takes to send at Telegram's 30 messages a second, so a
    live process never loses its batch to another; short enough to recover soon. A
    setting, so that a test with real processes need not wait the 3 minutes.
    """
    return timedelta(seconds=resources.settings.reminder_takeover_seconds)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A reminder to send now, to the partners in `to`: claimed, not yet marked."""

    delivery_id: int
    pair: PairRecord
    local_date: date
    again: bool  # a snoozed reminder, sent a second time
    # The partners' first names as they gave them; a partner never seen has none.
    names: dict[int, str]
    claimed_at: datetime  # the claim of these copies, checked when they are marked
    to: dict[int, int]  # partner -> failed attempts of that copy so far
    # The same round's copies settled earlier (the other partner's): partner -> status.
    earlier: dict[int, str] = field(default_factory=dict)
    # A weekly recap instead of a reminder: the Sunday its week ends on, and (read after
    # the claim committed, see `_with_weeks`) the week's numbers.
    recap_of: date | None = None
    recap: WeekNumbers | None = None


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
    # partner -> the message their copy became, to edit it when either partner taps.
    message_ids: dict[int, int] = field(default_factory=dict)

    @property
    def delivery_id(self) -> int:
        return self.item.delivery_id

    @property
    def again(self) -> bool:
        return self.item.again

    def told_of_unreachable(self) -> list[int]:
        """Partners to tell that the other could not be reached: once per reminder.

        Not for a recap: it is about the week, not a plan to stretch together now."""
        if self.item.recap_of is not None:
            return []
        return partners_to_tell(
            self.item.earlier, self.reached, self.unreachable, again=self.item.again
        )


# -- claiming --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _DueSlot:
    slot: ReminderSlotRecord
    pair: PairRecord
    decision: Decision


def _decide(
    slot: ReminderSlotRecord, pair: PairRecord, now: datetime, grace: timedelta
) -> _DueSlot:
    decision = decide(
        slot.local_time, Weekdays(slot.weekdays), zone_of(pair), slot.next_due_at, now, grace
    )
    return _DueSlot(slot, pair, decision)


def _status(
    pair: PairRecord, local_date: date, at: datetime, late: bool, stretched: set[tuple[int, date]]
) -> DeliveryStatus:
    return claim_status(
        late=late,
        paused_until=pair.reminders_paused_until,
        skipped_on=pair.reminders_skipped_on,
        stretched=(pair.id, local_date) in stretched,
        local_date=local_date,
        at=at,
    )


def _grace(resources: Resources) -> timedelta:
    return timedelta(minutes=resources.settings.reminder_grace_minutes)


async def claim_due(resources: Resources, now: datetime, limit: int) -> Claim:
    """Claim up to `limit` due slots: one delivery row each, slots moved on, committed."""
    grace = _grace(resources)
    async with resources.db.unit() as unit:
        due = await unit.reminders.lock_due_slots(now, limit)
        if not due:
            return Claim([], 0)
        decided = [_decide(slot, pair, now, grace) for slot, pair in due]
        moved_only = [d for d in decided if not d.decision.is_due(now)]
        decided = [d for d in decided if d.decision.is_due(now)]
        stretched = await unit.reminders.stretched_on_days(
            (d.pair.id, d.decision.local_date) for d in decided if not d.decision.late
        )
        statuses = {
            d.slot.id: _status(
                d.pair,
                d.decision.local_date,
                d.decision.occurrence.at_utc,
                d.decision.late,
                stretched,
            )
            for d in decided
        }
        written = await unit.reminders.add_deliveries(
            [
                dict(
                    pair_id=d.pair.id,
                    slot_id=d.slot.id,
                    local_date=d.decision.local_date,
                    due_at=d.decision.occurrence.at_utc,
                    claimed_at=now,
                    status=statuses[d.slot.id],
                )
                for d in decided
            ]
        )
        await unit.reminders.move_slots(
            [(d.slot.id, d.decision.next_due_at) for d in decided]
            + [(d.slot.id, d.decision.occurrence.at_utc) for d in moved_only]
        )
        to_send = [
            (written[(d.slot.id, d.decision.local_date)], d.pair, d.decision.local_date)
            for d in decided
            if statuses[d.slot.id] is DeliveryStatus.CLAIMED
            and (d.slot.id, d.decision.local_date) in written
        ]
        outgoing = await _first_copies(unit, to_send, again=False, now=now)
        await unit.commit()
    return Claim(outgoing, len(due))


async def claim_snoozes(resources: Resources, now: datetime, limit: int) -> Claim:
    """Claim snoozed reminders whose 15 minutes are up: each goes out once more."""
    grace = _grace(resources)
    async with resources.db.unit() as unit:
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


async def claim_copies(resources: Resources, now: datetime, limit: int) -> Claim:
    """Copies to send again: failed sends whose retry is due, and claims a stopped
    process left unmarked. Each goes to its own partner only."""
    grace = _grace(resources)
    async with resources.db.unit() as unit:
        due = await unit.reminders.lock_copies_due(now, now - takeover_after(resources), limit)
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
            if delivery.slot_id is None:
                # A recap: a pause or a session that day does not make it moot; turning
                # it off does.
                status = retaken_copy_status(
                    round_is_live=delivery.status in live_round(copy.again),
                    paused=not pair.weekly_recap,
                    stretched=False,
                    still_useful=is_still_useful(delivery.due_at, now, RECAP_GRACE),
                )
            else:
                # A snoozed reminder's second round was claimed when its snooze came due.
                reminded_at = delivery.claimed_at if copy.again else delivery.due_at
                status = retaken_copy_status(
                    round_is_live=delivery.status in live_round(copy.again),
                    paused=is_paused(pair.reminders_paused_until, now),
                    stretched=(pair.id, delivery.local_date) in stretched,
                    still_useful=is_still_useful(reminded_at, now, grace),
                )
            if status is CopyStatus.SENDING:
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
                    names={m: names[m] for m in pair.members if m in names},
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
                    recap_of=delivery.local_date if delivery.slot_id is None else None,
                )
            )
        await unit.commit()
    return Claim(await _with_weeks(resources, outgoing), len(due))


async def _first_copies(
    unit: UnitOfWork,
    rows: Sequence[tuple[int, PairRecord, date]],
    *,
    again: bool,
    now: datetime,
    recaps: bool = False,
) -> list[Outgoing]:
    """A copy in flight for each partner of each reminder just claimed, and what to send.

    With `recaps`, the rows are weekly recaps, and the local date is their Sunday."""
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
            names={m: names[m] for m in pair.members if m in names},
            claimed_at=now,
            to={member: 0 for member in pair.members},
            recap_of=local_date if recaps else None,
        )
        for delivery_id, pair, local_date in rows
    ]


# -- the weekly recap -------------------------------------------------------------------


async def claim_recaps(resources: Resources, now: datetime, limit: int) -> Claim:
    """Claim up to `limit` pairs' due weekly recaps: a delivery and a copy per partner
    each, the pairs' next recap instants moved on, committed."""
    async with resources.db.unit() as unit:
        due = await unit.reminders.lock_due_recaps(now, limit)
        if not due:
            return Claim([], 0)
        times = await unit.reminders.slot_times(pair.id for pair in due)
        decided = []
        for pair in due:
            assert pair.recap_due_at is not None  # the query asked for it
            decided.append(
                (
                    pair,
                    decide(
                        recap_time(times[pair.id]),
                        RECAP_DAY,
                        zone_of(pair),
                        pair.recap_due_at,
                        now,
                        RECAP_GRACE,
                    ),
                )
            )
        claimed = [(pair, d) for pair, d in decided if d.is_due(now)]
        written = await unit.reminders.add_recaps(
            [
                dict(
                    pair_id=pair.id,
                    local_date=d.local_date,
                    due_at=d.occurrence.at_utc,
                    claimed_at=now,
                    status=DeliveryStatus.LATE_SKIPPED if d.late else DeliveryStatus.CLAIMED,
                )
                for pair, d in claimed
            ]
        )
        # An instant that is not the recap's own (its slots or zone changed since) only
        # moves to the real next one, as a slot's does.
        await unit.reminders.move_recaps(
            (pair.id, d.next_due_at if d.is_due(now) else d.occurrence.at_utc)
            for pair, d in decided
        )
        to_send = [
            (written[pair.id], pair, d.local_date)
            for pair, d in claimed
            if not d.late and pair.id in written
        ]
        outgoing = await _first_copies(unit, to_send, again=False, now=now, recaps=True)
        await unit.commit()
    return Claim(await _with_weeks(resources, outgoing), len(due))


async def _with_weeks(resources: Resources, outgoing: list[Outgoing]) -> list[Outgoing]:
    """The recaps among `outgoing` with their week's numbers.

    Read after the claim committed, in a read-only unit: a few queries a pair, which on
    SQLite would otherwise hold the one write lock while every session tap waits.
    """
    if all(item.recap_of is None for item in outgoing):
        return outgoing
    async with resources.db.unit(read_only=True) as unit:
        return [
            item
            if item.recap_of is None
            else replace(item, recap=await _week_of(unit, item.pair, item.recap_of))
            for item in outgoing
        ]


async def _week_of(unit: UnitOfWork, pair: PairRecord, sunday: date) -> WeekNumbers:
    """The numbers of the week that ends on `sunday`, and the streak on that day."""
    monday, _ = week_of(sunday)
    entries = await unit.history.since(pair.id, monday)
    streak = streaks(
        await unit.history.stretched_days(pair.id, sunday),
        sunday,
        slot_weekdays=await unit.history.slot_weekdays(pair.id),
        paused=await unit.history.paused_days(pair.id),
    )
    sessions = [WeekSession(e.local_date, e.seconds_stretched, e.ratings) for e in entries]
    return week_numbers(sessions, sunday, pair.members, streak.current)


# -- marking what Telegram answered ----------------------------------------------------


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


async def _settle(unit: UnitOfWork, rounds: set[tuple[int, bool]], now: datetime) -> None:
    """Move each reminder still in flight to what its copies came to, if they decide it."""
    if not rounds:
        return
    copies = await unit.reminders.copies_of(delivery_id for delivery_id, _ in rounds)
    moves: dict[tuple[DeliveryStatus, bool], list[int]] = {}
    for delivery_id, again in rounds:
        statuses = [c.status for c in copies if c.delivery_id == delivery_id and c.again == again]
        outcome = round_outcome(statuses, again) if statuses else None
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


async def record_sends(resources: Resources, results: Sequence[SendResult], now: datetime) -> None:
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
    sent = [
        (r.delivery_id, member, r.again, message_id)
        for r in results
        for member, message_id in r.message_ids.items()
        if member in r.reached
    ]
    async with resources.db.unit() as unit:
        await unit.reminders.move_copies(changes)
        await unit.reminders.keep_message_ids(sent)
        for user_id in unreachable:
            await unit.users.set_reachable(user_id, False, now)
        await _settle(unit, {(r.delivery_id, r.again) for r in results}, now)
        await unit.commit()


async def soonest_due(resources: Resources) -> datetime | None:
    """When the next slot, snooze, copy retry or takeover is due, for the dispatcher to wake."""
    async with resources.db.unit() as unit:
        return await unit.reminders.soonest_due(takeover_after(resources))
