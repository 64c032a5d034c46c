"""The reminder services on their own: a database, a clock and settings, no Telegram.

They take anything shaped like `bot.services.resources.Resources`; here that is a plain
object, not the bot's `BotData`, and no `Application` runs.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.services import reminder_claims, reminder_slots
from bot.services.reminder_slots import ReminderTapOutcome
from routines.plan import Plan, PlanOptions
from storage.db import Database
from storage.records import PairRecord
from tests.clock import FakeClock
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
# Monday 1 June 2026, 09:00 in Berlin.
MONDAY = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
ANA, BEN, STRANGER = 101, 102, 103


@dataclass
class PlainResources:
    """What a service may use, without python-telegram-bot."""

    db: Database
    clock: FakeClock
    settings: Settings
    worker_id: str = "reminder-services-test"

    def plan(self, routine_id: str, options: PlanOptions) -> Plan:
        raise AssertionError("reminders never build a plan")


@pytest.fixture
async def resources(database_url: str) -> AsyncIterator[PlainResources]:
    database = Database.connect(database_url)
    await database.migrate()
    yield PlainResources(database, FakeClock(MONDAY), make_settings(database_url))
    await database.dispose()


async def make_pair(resources: PlainResources) -> PairRecord:
    async with resources.db.unit() as unit:
        for user_id, name in ((ANA, "Ana"), (BEN, "Ben"), (STRANGER, "Stranger")):
            await unit.users.remember(user_id, name, None, MONDAY, reachable=True)
        pair, _ = await unit.pairs.create(ANA, BEN, MONDAY, timezone="Europe/Berlin")
        await unit.commit()
    return pair


def test_the_reminder_services_load_without_telegram() -> None:
    script = (
        "import sys\n"
        "import bot.services.reminder_slots, bot.services.reminder_claims\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'telegram')\n"
        "assert not bad, bad[:5]\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr


async def test_a_slot_added_during_a_pause_says_so_and_resuming_ends_the_pause(
    resources: PlainResources,
) -> None:
    pair = await make_pair(resources)
    now = resources.clock.now()

    back = await reminder_slots.pause(resources, pair.id, 2, now)
    added = await reminder_slots.add_slot(resources, pair.id, time(7, 30), 0b111_1111, now)
    listed = await reminder_slots.slots(resources, pair.id, now)
    resumed = await reminder_slots.resume(resources, pair.id, now)
    again = await reminder_slots.resume(resources, pair.id, now)

    # Monday and Tuesday are paused: back at Wednesday's local midnight (22:00 UTC).
    assert back == datetime(2026, 6, 2, 22, 0, tzinfo=UTC)
    assert added.added and added.paused
    assert added.slot.next_due_at == datetime(2026, 6, 2, 5, 30, tzinfo=UTC)
    assert listed.paused_until == back
    assert [s.id for s in listed.slots] == [added.slot.id]
    assert resumed.was_paused and resumed.next_due_at == added.slot.next_due_at
    assert not again.was_paused and again.next_due_at is None
    after = await reminder_slots.slots(resources, pair.id, now)
    assert after.paused_until is None


async def test_a_fifth_time_is_refused_but_a_known_time_gets_new_days(
    resources: PlainResources,
) -> None:
    pair = await make_pair(resources)
    now = resources.clock.now()
    for hour in (6, 7, 8, 9):
        await reminder_slots.add_slot(resources, pair.id, time(hour), 0b111_1111, now)

    with pytest.raises(reminder_slots.TooManySlots):
        await reminder_slots.add_slot(resources, pair.id, time(10), 0b111_1111, now)
    changed = await reminder_slots.add_slot(resources, pair.id, time(9), 0b001_1111, now)

    assert not changed.added and changed.slot.weekdays == 0b001_1111


async def test_the_buttons_of_a_claimed_reminder_answer_by_who_taps_and_when(
    resources: PlainResources,
) -> None:
    pair = await make_pair(resources)
    now = resources.clock.now()
    slot = await reminder_slots.add_slot(resources, pair.id, time(9, 30), 0b111_1111, now)
    due = resources.clock.advance(minutes=30)
    claim = await reminder_claims.claim_due(resources, due, 10)
    [item] = claim.outgoing
    delivery = item.delivery_id

    stranger = await reminder_slots.snooze(resources, delivery, STRANGER, due)
    gone = await reminder_slots.snooze(resources, delivery + 1000, ANA, due)
    snoozed = await reminder_slots.snooze(resources, delivery, ANA, due)
    twice = await reminder_slots.snooze(resources, delivery, BEN, due)
    skipped = await reminder_slots.skip_today(resources, delivery, BEN, due)
    skipped_twice = await reminder_slots.skip_today(resources, delivery, ANA, due)

    assert slot.slot.next_due_at == due
    assert item.names == {ANA: "Ana", BEN: "Ben"} and item.to == {ANA: 0, BEN: 0}
    assert stranger.outcome is ReminderTapOutcome.NOT_YOURS
    assert gone.outcome is ReminderTapOutcome.GONE
    assert snoozed.outcome is ReminderTapOutcome.DONE
    assert snoozed.until == due + timedelta(minutes=15)
    assert twice.outcome is ReminderTapOutcome.ALREADY and twice.until == snoozed.until
    assert skipped.outcome is ReminderTapOutcome.DONE
    assert skipped_twice.outcome is ReminderTapOutcome.ALREADY
    async with resources.db.unit() as unit:
        fresh = await unit.pairs.get(pair.id)
    assert fresh is not None and fresh.reminders_skipped_on == date(2026, 6, 1)
    # The skip cancelled the snooze: nothing comes again.
    later = resources.clock.advance(minutes=20)
    assert (await reminder_claims.claim_snoozes(resources, later, 10)).outgoing == []


async def test_a_copy_that_failed_is_claimed_again_for_its_partner_alone(
    resources: PlainResources,
) -> None:
    pair = await make_pair(resources)
    now = resources.clock.now()
    await reminder_slots.add_slot(resources, pair.id, time(9, 30), 0b111_1111, now)
    due = resources.clock.advance(minutes=30)
    [item] = (await reminder_claims.claim_due(resources, due, 10)).outgoing

    result = reminder_claims.SendResult(item, reached=[ANA], failed={BEN: 0.0})
    await reminder_claims.record_sends(resources, [result], due)
    too_soon = await reminder_claims.claim_copies(resources, due + timedelta(seconds=4), 10)
    retry = await reminder_claims.claim_copies(resources, due + timedelta(seconds=5), 10)

    assert too_soon.outgoing == []
    [again] = retry.outgoing
    assert again.delivery_id == item.delivery_id
    assert again.to == {BEN: 1}
    assert again.earlier == {ANA: "sent"}
    # Claimed and not yet marked: if this process died now, another would take the copy
    # over once the claim is REMINDER_TAKEOVER_SECONDS old, and wakes for it.
    takeover = due + timedelta(seconds=5 + resources.settings.reminder_takeover_seconds)
    assert await reminder_claims.soonest_due(resources) == takeover
    marked = reminder_claims.SendResult(again, reached=[BEN])
    await reminder_claims.record_sends(resources, [marked], due + timedelta(seconds=6))
    assert await reminder_claims.soonest_due(resources) == datetime(2026, 6, 2, 7, 30, tzinfo=UTC)
