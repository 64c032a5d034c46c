"""Reminder slots and deliveries: the rows that make every reminder happen exactly once.

A slot holds its next due instant in UTC. The dispatcher claims due slots by writing a
delivery row whose unique key (pair, slot, local date) lets a reminder exist once, and
moves the slot on, in one transaction. On PostgreSQL the claim locks with `SKIP LOCKED`,
so several processes share the work instead of queueing on each other's rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Select,
    Table,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

# What a delivery or a copy may come to is the domain's word, kept in routines.
from routines.reminder_rules import CopyStatus, DeliveryStatus
from storage.models import (
    Pair,
    ReminderDelivery,
    ReminderRecipient,
    ReminderSlot,
    SessionResult,
    User,
)
from storage.records import (
    PairRecord,
    ReminderDeliveryRecord,
    ReminderRecipientRecord,
    ReminderSlotRecord,
)
from storage.repositories.pairs import pair_record
from storage.upsert import insert_or_ignore

_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])


def _slot(row: ReminderSlot) -> ReminderSlotRecord:
    return ReminderSlotRecord(
        id=row.id,
        pair_id=row.pair_id,
        local_time=row.local_time,
        weekdays=row.weekdays,
        next_due_at=row.next_due_at,
    )


def _delivery(row: ReminderDelivery) -> ReminderDeliveryRecord:
    return ReminderDeliveryRecord(
        id=row.id,
        pair_id=row.pair_id,
        slot_id=row.slot_id,
        local_date=row.local_date,
        due_at=row.due_at,
        claimed_at=row.claimed_at,
        sent_at=row.sent_at,
        status=row.status,
        snooze_due_at=row.snooze_due_at,
        note=row.note,
    )


def _copy(row: ReminderRecipient) -> ReminderRecipientRecord:
    return ReminderRecipientRecord(
        delivery_id=row.delivery_id,
        user_id=row.user_id,
        again=row.again,
        status=row.status,
        attempts=row.attempts,
        claimed_at=row.claimed_at,
        retry_at=row.retry_at,
        message_id=row.message_id,
    )


class ReminderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def _postgres(self) -> bool:
        return self._session.get_bind().dialect.name == "postgresql"

    def _locked(self, query: _Query, *of: Any) -> _Query:
        """Lock the rows a claim reads; other processes skip them rather than wait."""
        if not self._postgres:
            return query  # one writer at a time already; the unique key guards the rest
        return query.with_for_update(skip_locked=True, of=of or None)

    # -- slots ---------------------------------------------------------------------------
    async def slots_of(self, pair_id: int) -> list[ReminderSlotRecord]:
        rows = await self._session.scalars(
            select(ReminderSlot)
            .where(ReminderSlot.pair_id == pair_id)
            .order_by(ReminderSlot.local_time, ReminderSlot.id)
        )
        return [_slot(row) for row in rows]

    async def slot(self, slot_id: int) -> ReminderSlotRecord | None:
        row = await self._session.get(ReminderSlot, slot_id)
        return None if row is None else _slot(row)

    async def put_slot(
        self,
        pair_id: int,
        local_time: time,
        weekdays: int,
        next_due_at: datetime,
        now: datetime,
    ) -> tuple[ReminderSlotRecord, bool]:
        """Add a slot, or give an existing one at that time new days; True when added."""
        result = await self._session.execute(
            insert_or_ignore(
                self._session,
                ReminderSlot,
                dict(
                    pair_id=pair_id,
                    local_time=local_time,
                    weekdays=weekdays,
                    next_due_at=next_due_at,
                    created_at=now,
                ),
            )
        )
        added = bool(result.rowcount)  # type: ignore[attr-defined]
        if not added:
            await self._session.execute(
                update(ReminderSlot)
                .where(ReminderSlot.pair_id == pair_id, ReminderSlot.local_time == local_time)
                .values(weekdays=weekdays, next_due_at=next_due_at)
            )
        row = await self._session.scalar(
            select(ReminderSlot)
            .where(ReminderSlot.pair_id == pair_id, ReminderSlot.local_time == local_time)
            .execution_options(populate_existing=True)
        )
        assert row is not None
        return _slot(row), added

    async def remove_slot(self, slot_id: int) -> bool:
        result = await self._session.execute(
            delete(ReminderSlot).where(ReminderSlot.id == slot_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def move_slots(self, next_due: Iterable[tuple[int, datetime]]) -> None:
        """Set each slot's next due instant, in one round trip."""
        values = [{"slot_id": slot_id, "due": due} for slot_id, due in next_due]
        if values:
            table = cast(Table, ReminderSlot.__table__)
            await self._session.execute(
                update(table)
                .where(table.c.id == bindparam("slot_id"))
                .values(next_due_at=bindparam("due")),
                values,
            )

    async def soonest_due(self, takeover_after: timedelta | None = None) -> datetime | None:
        """The earliest instant anything is due: a slot, a snoozed reminder, a retry, or
        (given `takeover_after`) the takeover of a copy claimed and never marked."""
        slot_due = await self._session.scalar(select(func.min(ReminderSlot.next_due_at)))
        snooze_due = await self._session.scalar(
            select(func.min(ReminderDelivery.snooze_due_at)).where(
                ReminderDelivery.status == DeliveryStatus.SNOOZED
            )
        )
        retry_due = await self._session.scalar(
            select(func.min(ReminderRecipient.retry_at)).where(
                ReminderRecipient.status == CopyStatus.WAITING
            )
        )
        recap_due = await self._session.scalar(
            select(func.min(Pair.recap_due_at)).where(Pair.weekly_recap.is_(True))
        )
        instants = [
            _aware(value)
            for value in (slot_due, snooze_due, retry_due, recap_due)
            if isinstance(value, datetime)
        ]
        if takeover_after is not None:
            # A worker that died after its claim leaves copies `sending`: whoever wakes
            # first once they are old enough sends them, without waiting for the next
            # once-a-minute tick.
            claimed = await self._session.scalar(
                select(func.min(ReminderRecipient.claimed_at)).where(
                    ReminderRecipient.status == CopyStatus.SENDING
                )
            )
            if isinstance(claimed, datetime):
                instants.append(_aware(claimed) + takeover_after)
        return min(instants, default=None)

    # -- claiming ------------------------------------------------------------------------
    async def lock_due_slots(
        self, now: datetime, limit: int
    ) -> list[tuple[ReminderSlotRecord, PairRecord]]:
        """The slots due at `now`, earliest first, with their pairs; locked on PostgreSQL."""
        query = (
            select(ReminderSlot, Pair)
            .join(Pair, Pair.id == ReminderSlot.pair_id)
            .where(ReminderSlot.next_due_at <= now)
            .order_by(ReminderSlot.next_due_at, ReminderSlot.id)
            .limit(limit)
        )
        rows = await self._session.execute(self._locked(query, ReminderSlot))
        return [(_slot(slot), pair_record(pair)) for slot, pair in rows]

    async def lock_due_recaps(self, now: datetime, limit: int) -> list[PairRecord]:
        """The pairs whose weekly recap is due at `now`, earliest first; locked on PostgreSQL."""
        query = (
            select(Pair)
            .where(Pair.weekly_recap.is_(True), Pair.recap_due_at <= now)
            .order_by(Pair.recap_due_at, Pair.id)
            .limit(limit)
            .execution_options(populate_existing=True)
        )
        rows = await self._session.scalars(self._locked(query, Pair))
        return [pair_record(row) for row in rows]

    async def slot_times(self, pair_ids: Iterable[int]) -> dict[int, list[tuple[time, int]]]:
        """Each pair's reminder slots as (local time, weekday mask): what the recap's
        time follows."""
        ids = sorted(set(pair_ids))
        found: dict[int, list[tuple[time, int]]] = {pair_id: [] for pair_id in ids}
        if ids:
            rows = await self._session.execute(
                select(ReminderSlot.pair_id, ReminderSlot.local_time, ReminderSlot.weekdays).where(
                    ReminderSlot.pair_id.in_(ids)
                )
            )
            for pair_id, local_time, weekdays in rows:
                found[pair_id].append((local_time, weekdays))
        return found

    async def move_recaps(self, next_due: Iterable[tuple[int, datetime | None]]) -> None:
        """Set each pair's next recap instant, in one round trip."""
        values = [{"b_pair_id": pair_id, "b_due": due} for pair_id, due in next_due]
        if values:
            table = cast(Table, Pair.__table__)
            await self._session.execute(
                update(table)
                .where(table.c.id == bindparam("b_pair_id"))
                .values(recap_due_at=bindparam("b_due")),
                values,
            )

    async def add_deliveries(
        self, rows: Sequence[dict[str, Any]]
    ) -> dict[tuple[int | None, date], int]:
        """Insert deliveries; a key that exists already is left alone and not returned.

        Each row holds pair_id, slot_id, local_date, due_at, claimed_at and status. The
        answer maps (slot_id, local_date) to the new row's id, only for rows this call wrote.
        """
        if not rows:
            return {}
        # One statement run over many rows: compiled once and cached, where a VALUES
        # list of a new length would be compiled again for every batch.
        table = cast(Table, ReminderDelivery.__table__)
        statement = insert_or_ignore(self._session, table).returning(
            ReminderDelivery.id, ReminderDelivery.slot_id, ReminderDelivery.local_date
        )
        result = await self._session.execute(statement, list(rows))
        return {(slot_id, local_date): row_id for row_id, slot_id, local_date in result}

    async def add_recaps(self, rows: Sequence[dict[str, Any]]) -> dict[int, int]:
        """Insert recap deliveries (no slot); one that exists already is left alone.

        Each row holds pair_id, local_date, due_at, claimed_at and status. The answer
        maps pair_id to the new row's id, only for rows this call wrote.
        """
        if not rows:
            return {}
        table = cast(Table, ReminderDelivery.__table__)
        statement = insert_or_ignore(self._session, table).returning(
            ReminderDelivery.id, ReminderDelivery.pair_id
        )
        result = await self._session.execute(statement, [{**row, "slot_id": None} for row in rows])
        return {pair_id: row_id for row_id, pair_id in result}

    async def first_names(self, user_ids: Iterable[int]) -> dict[int, str]:
        """The first names of users, without loading whole rows (a claim needs only these)."""
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        rows = await self._session.execute(
            select(User.id, User.first_name).where(User.id.in_(ids))
        )
        return {user_id: name for user_id, name in rows}

    async def stretched_on_days(self, keys: Iterable[tuple[int, date]]) -> set[tuple[int, date]]:
        """Which (pair, local date) already had a session with holds done (as `results`)."""
        wanted = set(keys)
        if not wanted:
            return set()
        rows = await self._session.execute(
            select(SessionResult.pair_id, SessionResult.local_date)
            .where(
                tuple_(SessionResult.pair_id, SessionResult.local_date).in_(list(wanted)),
                SessionResult.holds_done > 0,
            )
            .distinct()
        )
        return {(pair_id, local_date) for pair_id, local_date in rows}

    async def lock_due_snoozes(
        self, now: datetime, limit: int
    ) -> list[tuple[ReminderDeliveryRecord, PairRecord]]:
        query = (
            select(ReminderDelivery, Pair)
            .join(Pair, Pair.id == ReminderDelivery.pair_id)
            .where(
                ReminderDelivery.status == DeliveryStatus.SNOOZED,
                ReminderDelivery.snooze_due_at <= now,
            )
            .order_by(ReminderDelivery.snooze_due_at, ReminderDelivery.id)
            .limit(limit)
        )
        rows = await self._session.execute(self._locked(query, ReminderDelivery))
        return [(_delivery(d), pair_record(p)) for d, p in rows]

    async def transition(
        self,
        delivery_ids: Iterable[int],
        to: DeliveryStatus,
        *,
        only_from: Iterable[DeliveryStatus],
        **values: Any,
    ) -> list[int]:
        """Move deliveries still in one of `only_from` to `to`; the ids that moved.

        A compare-and-set: a second tap, or a second process, finds the status already
        changed and moves nothing.
        """
        ids = list(delivery_ids)
        if not ids:
            return []
        query = update(ReminderDelivery).where(
            ReminderDelivery.id.in_(ids), ReminderDelivery.status.in_(list(only_from))
        )
        result = await self._session.execute(
            query.values(status=to, **values).returning(ReminderDelivery.id)
        )
        return list(result.scalars())

    # -- each partner's copy ------------------------------------------------------------
    async def add_copies(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert copies (delivery_id, user_id, again, status, attempts, claimed_at)."""
        if rows:
            table = cast(Table, ReminderRecipient.__table__)
            await self._session.execute(insert_or_ignore(self._session, table), list(rows))

    async def lock_copies_due(
        self, now: datetime, claimed_before: datetime, limit: int
    ) -> list[tuple[ReminderRecipientRecord, ReminderDeliveryRecord, PairRecord]]:
        """Copies to send now: failed ones whose retry is due, and ones a stopped process
        claimed and never marked; with their reminders and pairs, locked on PostgreSQL."""
        query = (
            select(ReminderRecipient, ReminderDelivery, Pair)
            .join(ReminderDelivery, ReminderDelivery.id == ReminderRecipient.delivery_id)
            .join(Pair, Pair.id == ReminderDelivery.pair_id)
            .where(
                or_(
                    and_(
                        ReminderRecipient.status == CopyStatus.WAITING,
                        ReminderRecipient.retry_at <= now,
                    ),
                    and_(
                        ReminderRecipient.status == CopyStatus.SENDING,
                        ReminderRecipient.claimed_at < claimed_before,
                    ),
                )
            )
            .order_by(ReminderRecipient.claimed_at, ReminderRecipient.delivery_id)
            .limit(limit)
        )
        rows = await self._session.execute(self._locked(query, ReminderRecipient))
        return [(_copy(c), _delivery(d), pair_record(p)) for c, d, p in rows]

    async def copies_of(self, delivery_ids: Iterable[int]) -> list[ReminderRecipientRecord]:
        ids = sorted(set(delivery_ids))
        if not ids:
            return []
        rows = await self._session.scalars(
            select(ReminderRecipient)
            .where(ReminderRecipient.delivery_id.in_(ids))
            .order_by(ReminderRecipient.delivery_id, ReminderRecipient.user_id)
            .execution_options(populate_existing=True)
        )
        return [_copy(row) for row in rows]

    async def move_copies(self, changes: Sequence[dict[str, Any]]) -> None:
        """Set each copy's status, attempts, claim, retry and sent instants, in one round trip.

        Each change names its copy (delivery_id, user_id, again) and the status and claim
        instant it is expected to have: a compare-and-set, so a process whose claim was
        taken over after it stalled cannot overwrite what the new claim recorded.
        """
        if not changes:
            return
        table = cast(Table, ReminderRecipient.__table__)
        await self._session.execute(
            update(table)
            .where(
                table.c.delivery_id == bindparam("b_delivery_id"),
                table.c.user_id == bindparam("b_user_id"),
                table.c.again == bindparam("b_again"),
                table.c.status == bindparam("b_from_status"),
                table.c.claimed_at == bindparam("b_from_claimed_at"),
            )
            .values(
                status=bindparam("b_status"),
                attempts=bindparam("b_attempts"),
                claimed_at=bindparam("b_claimed_at"),
                retry_at=bindparam("b_retry_at"),
                sent_at=bindparam("b_sent_at"),
            ),
            [{f"b_{name}": value for name, value in change.items()} for change in changes],
        )

    async def keep_message_ids(self, sent: Sequence[tuple[int, int, bool, int]]) -> None:
        """Note the message each sent copy became: (delivery_id, user_id, again, message_id)."""
        if not sent:
            return
        table = cast(Table, ReminderRecipient.__table__)
        await self._session.execute(
            update(table)
            .where(
                table.c.delivery_id == bindparam("b_delivery_id"),
                table.c.user_id == bindparam("b_user_id"),
                table.c.again == bindparam("b_again"),
            )
            .values(message_id=bindparam("b_message_id")),
            [dict(b_delivery_id=d, b_user_id=u, b_again=a, b_message_id=m) for d, u, a, m in sent],
        )

    async def delivery(self, delivery_id: int) -> ReminderDeliveryRecord | None:
        row = await self._session.get(ReminderDelivery, delivery_id, populate_existing=True)
        return None if row is None else _delivery(row)

    async def deliveries_of(self, pair_id: int) -> list[ReminderDeliveryRecord]:
        """The pair's reminders (not its weekly recaps), oldest first."""
        rows = await self._session.scalars(
            select(ReminderDelivery)
            .where(ReminderDelivery.pair_id == pair_id, ReminderDelivery.slot_id.is_not(None))
            .order_by(ReminderDelivery.due_at, ReminderDelivery.id)
        )
        return [_delivery(row) for row in rows]

    async def recaps_of(self, pair_id: int) -> list[ReminderDeliveryRecord]:
        """The pair's weekly recaps, oldest first."""
        rows = await self._session.scalars(
            select(ReminderDelivery)
            .where(ReminderDelivery.pair_id == pair_id, ReminderDelivery.slot_id.is_(None))
            .order_by(ReminderDelivery.due_at, ReminderDelivery.id)
            .execution_options(populate_existing=True)
        )
        return [_delivery(row) for row in rows]

    async def cancel_snoozes(self, pair_id: int, local_date: date) -> None:
        """ "Skip today" also silences a snoozed reminder of that day."""
        await self._session.execute(
            update(ReminderDelivery)
            .where(
                ReminderDelivery.pair_id == pair_id,
                ReminderDelivery.local_date == local_date,
                # A weekly recap is no reminder: skipping the day leaves it be.
                ReminderDelivery.slot_id.is_not(None),
                or_(
                    ReminderDelivery.status == DeliveryStatus.SNOOZED,
                    ReminderDelivery.status == DeliveryStatus.SENT,
                ),
            )
            .values(status=DeliveryStatus.SKIPPED, snooze_due_at=None)
        )

    # -- the pair's switches -------------------------------------------------------------
    async def pause(self, pair_id: int, until: datetime | None) -> None:
        await self._session.execute(
            update(Pair).where(Pair.id == pair_id).values(reminders_paused_until=until)
        )

    async def skip_day(self, pair_id: int, local_date: date) -> None:
        await self._session.execute(
            update(Pair).where(Pair.id == pair_id).values(reminders_skipped_on=local_date)
        )

    async def pairs(self, pair_ids: Iterable[int]) -> dict[int, PairRecord]:
        ids = list(set(pair_ids))
        if not ids:
            return {}
        rows = await self._session.scalars(select(Pair).where(Pair.id.in_(ids)))
        return {row.id: pair_record(row) for row in rows}


def _aware(value: datetime) -> datetime:
    """Aggregates may come back naive from SQLite; they are UTC all the same."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
