"""Reminder slots and deliveries on SQLite and PostgreSQL: the keys that make it once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta

import pytest

from routines.reminder_rules import DeliveryStatus
from storage.db import Database
from storage.records import PairRecord, SessionChange

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database.connect(database_url)
    await database.migrate()
    yield database
    await database.dispose()


async def make_pair(db: Database, low: int = 1, high: int = 2) -> PairRecord:
    async with db.unit() as unit:
        for user_id in (low, high):
            await unit.users.remember(user_id, f"user{user_id}", None, NOW, reachable=True)
        pair, _ = await unit.pairs.create(low, high, NOW, timezone="Europe/Berlin")
        await unit.commit()
    return pair


def delivery_row(
    pair: PairRecord, slot_id: int, day: date, status: str = "claimed"
) -> dict[str, object]:
    return dict(
        pair_id=pair.id,
        slot_id=slot_id,
        local_date=day,
        due_at=NOW,
        claimed_at=NOW,
        status=status,
    )


async def test_a_slot_at_the_same_time_gets_new_days_instead_of_a_second_row(db: Database) -> None:
    pair = await make_pair(db)
    async with db.unit() as unit:
        first, added = await unit.reminders.put_slot(pair.id, time(7, 30), 127, NOW, NOW)
        again, added_again = await unit.reminders.put_slot(
            pair.id, time(7, 30), 0b11111, NOW + timedelta(days=1), NOW
        )
        await unit.commit()
    async with db.unit() as unit:
        slots = await unit.reminders.slots_of(pair.id)

    assert added and not added_again
    assert first.id == again.id
    assert [(s.local_time, s.weekdays, s.next_due_at) for s in slots] == [
        (time(7, 30), 0b11111, NOW + timedelta(days=1))
    ]


async def test_only_due_slots_are_claimed_earliest_first_with_their_pair(db: Database) -> None:
    pair = await make_pair(db)
    async with db.unit() as unit:
        await unit.reminders.put_slot(pair.id, time(8), 127, NOW - timedelta(minutes=1), NOW)
        await unit.reminders.put_slot(pair.id, time(7), 127, NOW - timedelta(minutes=5), NOW)
        await unit.reminders.put_slot(pair.id, time(10), 127, NOW + timedelta(hours=1), NOW)
        await unit.commit()
    async with db.unit() as unit:
        due = await unit.reminders.lock_due_slots(NOW, 10)

    assert [slot.local_time for slot, _ in due] == [time(7), time(8)]
    assert all(found.id == pair.id and found.timezone == "Europe/Berlin" for _, found in due)


async def test_a_delivery_key_is_written_once_and_a_second_insert_returns_nothing(
    db: Database,
) -> None:
    pair = await make_pair(db)
    async with db.unit() as unit:
        slot, _ = await unit.reminders.put_slot(pair.id, time(9), 127, NOW, NOW)
        first = await unit.reminders.add_deliveries(
            [delivery_row(pair, slot.id, date(2026, 11, 2))]
        )
        await unit.commit()
    async with db.unit() as unit:
        second = await unit.reminders.add_deliveries(
            [
                delivery_row(pair, slot.id, date(2026, 11, 2)),
                delivery_row(pair, slot.id, date(2026, 11, 3)),
            ]
        )
        await unit.commit()
    async with db.unit() as unit:
        rows = await unit.reminders.deliveries_of(pair.id)

    assert list(first) == [(slot.id, date(2026, 11, 2))]
    assert list(second) == [(slot.id, date(2026, 11, 3))]
    assert [row.local_date for row in rows] == [date(2026, 11, 2), date(2026, 11, 3)]


async def test_a_status_change_is_a_compare_and_set(db: Database) -> None:
    pair = await make_pair(db)
    async with db.unit() as unit:
        slot, _ = await unit.reminders.put_slot(pair.id, time(9), 127, NOW, NOW)
        written = await unit.reminders.add_deliveries([delivery_row(pair, slot.id, NOW.date())])
        [delivery_id] = written.values()
        moved = await unit.reminders.transition(
            [delivery_id], DeliveryStatus.SENT, only_from=(DeliveryStatus.CLAIMED,), sent_at=NOW
        )
        moved_again = await unit.reminders.transition(
            [delivery_id], DeliveryStatus.SENT, only_from=(DeliveryStatus.CLAIMED,), sent_at=NOW
        )
        await unit.commit()
    async with db.unit() as unit:
        delivery = await unit.reminders.delivery(delivery_id)

    assert moved == [delivery_id] and moved_again == []
    assert delivery is not None and delivery.status == "sent" and delivery.sent_at == NOW


async def test_the_soonest_due_instant_counts_waiting_snoozes(db: Database) -> None:
    pair = await make_pair(db)
    async with db.unit() as unit:
        # A new pair's weekly recap is due at once (to be scheduled); off, it is not due.
        assert await unit.reminders.soonest_due() == NOW
        await unit.pairs.change_settings(pair.id, weekly_recap=False, recap_due_at=None)
        assert await unit.reminders.soonest_due() is None
        slot, _ = await unit.reminders.put_slot(
            pair.id, time(9), 127, NOW + timedelta(hours=2), NOW
        )
        [delivery_id] = (
            await unit.reminders.add_deliveries([delivery_row(pair, slot.id, NOW.date(), "sent")])
        ).values()
        assert await unit.reminders.soonest_due() == NOW + timedelta(hours=2)
        await unit.reminders.transition(
            [delivery_id],
            DeliveryStatus.SNOOZED,
            only_from=(DeliveryStatus.SENT,),
            snooze_due_at=NOW + timedelta(minutes=15),
        )
        assert await unit.reminders.soonest_due() == NOW + timedelta(minutes=15)


async def test_the_soonest_due_instant_counts_a_weekly_recap_that_is_on(db: Database) -> None:
    pair = await make_pair(db)
    async with db.unit() as unit:
        await unit.reminders.move_recaps([(pair.id, NOW + timedelta(days=3))])
        assert await unit.reminders.soonest_due() == NOW + timedelta(days=3)
        await unit.pairs.change_settings(pair.id, weekly_recap=False)
        assert await unit.reminders.soonest_due() is None


async def test_days_with_a_finished_session_are_found_in_one_query(db: Database) -> None:
    pair = await make_pair(db)
    other = await make_pair(db, 3, 4)
    async with db.unit() as unit:
        session = await unit.sessions.add(
            pair_id=pair.id,
            routine_id="quick",
            seats=pair.members,
            origin_chat_id=pair.user_low_id,
            options={},
            change=SessionChange(phase="finished", live=False, version=1, deadline=None, state={}),
            now=NOW,
        )
        await unit.results.record(
            session_id=session.id,
            pair_id=pair.id,
            routine_id="quick",
            end_reason="finished",
            holds_done=6,
            exercises_done=3,
            seconds_stretched=300,
            local_date=date(2026, 11, 2),
            ended_at=NOW,
        )
        await unit.commit()
    async with db.unit() as unit:
        found = await unit.reminders.stretched_on_days(
            [
                (pair.id, date(2026, 11, 2)),
                (pair.id, date(2026, 11, 3)),
                (other.id, date(2026, 11, 2)),
            ]
        )

    assert found == {(pair.id, date(2026, 11, 2))}


async def test_pause_and_skip_are_stored_on_the_pair(db: Database) -> None:
    pair = await make_pair(db)
    async with db.unit() as unit:
        await unit.reminders.pause(pair.id, NOW + timedelta(days=7))
        await unit.reminders.skip_day(pair.id, date(2026, 11, 2))
        await unit.commit()
    async with db.unit() as unit:
        stored = await unit.pairs.get(pair.id)

    assert stored is not None
    assert stored.reminders_paused_until == NOW + timedelta(days=7)
    assert stored.reminders_skipped_on == date(2026, 11, 2)


async def test_two_claims_at_once_on_postgresql_never_take_the_same_slot(
    db: Database, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks with SKIP LOCKED are PostgreSQL's")
    pair = await make_pair(db)
    async with db.unit() as unit:
        for hour in range(4):
            await unit.reminders.put_slot(pair.id, time(hour), 127, NOW - timedelta(hours=1), NOW)
        await unit.commit()

    async with db.unit() as first, db.unit() as second:
        mine = await first.reminders.lock_due_slots(NOW, 2)
        theirs = await asyncio.wait_for(second.reminders.lock_due_slots(NOW, 10), timeout=5)

    assert len(mine) == 2 and len(theirs) == 2
    assert {s.id for s, _ in mine}.isdisjoint({s.id for s, _ in theirs})
