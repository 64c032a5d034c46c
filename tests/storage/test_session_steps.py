"""A session's event in one trip keeps the repositories' guarantees, on every backend."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.records import (
    CardRecord,
    DeliveryNote,
    LeftoverRecord,
    ResultRow,
    SessionChange,
    SessionRecord,
    TimerRecord,
)
from storage.session_steps import StepWrite
from tests.harness import wait_until
from tests.storage.session_rows import ANA, BEN, lobby_session

# Microseconds too: SQLite keeps instants as text, and they must come back the same.
NOW = datetime(2026, 12, 6, 9, 0, 0, 123456, tzinfo=UTC)

T = TypeVar("T")


class Refused(Exception):
    pass


def _next(record: SessionRecord, **extra: object) -> StepWrite:
    deadline = NOW + timedelta(seconds=30)
    change = SessionChange("holding", True, record.version + 1, deadline, {"step": 1})
    return StepWrite(change, **extra)  # type: ignore[arg-type]


def _hold(session_id: int, version: int, due_at: datetime) -> TimerRecord:
    return TimerRecord(session_id, "step", "hold", version, due_at, (due_at,))


async def test_a_step_saves_the_state_its_cards_owed_and_its_timers_together(
    db: Database,
) -> None:
    session_id = await lobby_session(db, reachable=True)
    due = NOW + timedelta(seconds=30)

    outcome = await db.steps.step(
        session_id,
        lambda record: _next(
            record,
            owed=[ANA, BEN],
            owed_kind="holding",
            timers=[_hold(session_id, 2, due)],
            acknowledged=ANA,
        ),
        NOW,
    )

    assert outcome.saved and outcome.record is not None and outcome.record.version == 1
    async with db.unit(read_only=True) as unit:
        stored = await unit.sessions.get(session_id)
        owed = await unit.outbox.owed(session_id)
        [timer] = await unit.timers.of_session(session_id)
        users = await unit.users.get_many([ANA, BEN])
    assert stored is not None
    assert (stored.phase, stored.version, stored.revision) == ("holding", 2, 1)
    assert stored.deadline == NOW + timedelta(seconds=30)
    assert stored.state == {"step": 1}
    assert [(card.user_id, card.version, card.kind) for card in owed] == [
        (ANA, 2, "holding"),
        (BEN, 2, "holding"),
    ]
    assert (timer.lane, timer.kind, timer.version, timer.due_at, timer.later) == (
        "step",
        "hold",
        2,
        due,
        (due,),
    )
    assert users[ANA].safety_acknowledged_at == NOW
    assert users[BEN].safety_acknowledged_at is None
    # The read units see what the step wrote, with the same types the repositories give.
    assert await db.steps.read(session_id) == stored


async def test_the_timers_written_here_are_claimed_by_the_poller_as_any_others(
    db: Database,
) -> None:
    session_id = await lobby_session(db, reachable=True)
    await db.steps.step(
        session_id, lambda record: _next(record, timers=[_hold(session_id, 2, NOW)]), NOW
    )

    claimed = await db.timers.claim(NOW, "worker-1", NOW + timedelta(seconds=60), 10)

    assert [(t.session_id, t.lane, t.version) for t in claimed.timers] == [(session_id, "step", 2)]


async def test_a_refused_event_writes_nothing_and_the_database_stays_usable(
    db: Database,
) -> None:
    session_id = await lobby_session(db, reachable=True)

    def refuse(record: SessionRecord) -> StepWrite:
        raise Refused(record.id)

    with pytest.raises(Refused):
        await db.steps.step(session_id, refuse, NOW)

    outcome = await db.steps.step(session_id, lambda record: _next(record), NOW)
    assert outcome.saved and outcome.record is not None and outcome.record.revision == 0


async def test_a_missing_session_is_said_so(db: Database) -> None:
    outcome = await db.steps.step(404, lambda record: _next(record), NOW)

    assert outcome.record is None and not outcome.saved
    assert await db.steps.read(404) is None


async def test_the_last_step_records_how_the_session_went_once(db: Database) -> None:
    session_id = await lobby_session(db, reachable=True)
    result = ResultRow(1, "quick", "completed", 8, 4, 240, NOW.date(), NOW)
    for _ in range(2):
        await db.steps.step(session_id, lambda record: _next(record, result=result), NOW)

    async with db.unit(read_only=True) as unit:
        stored = await unit.results.of_session(session_id)
    assert stored is not None
    assert (stored.end_reason, stored.holds_done, stored.local_date, stored.ended_at) == (
        "completed",
        8,
        NOW.date(),
        NOW,
    )


async def test_cards_delivered_note_them_settle_the_outbox_and_hand_back_what_goes(
    db: Database,
) -> None:
    session_id = await lobby_session(db, reachable=True)
    await db.steps.step(
        session_id,
        lambda record: _next(
            record,
            owed=[ANA, BEN],
            owed_kind="holding",
            timers=[TimerRecord(session_id, "cards", "cards", 2, NOW, claimed_by="me")],
        ),
        NOW,
    )
    await db.steps.note_cards(session_id, [CardRecord(ANA, ANA, 10, 1, "lobby")])
    await db.steps.leave_behind([LeftoverRecord(session_id, ANA, ANA, 7)])

    leftovers = await db.steps.delivered(
        session_id, 2, [CardRecord(ANA, ANA, 11, 2, "holding")], [BEN], None, "cards", NOW
    )

    # The card replaced, then the leftover of an earlier delete that failed.
    assert leftovers == [
        LeftoverRecord(session_id, ANA, ANA, 10),
        LeftoverRecord(session_id, ANA, ANA, 7),
    ]
    async with db.unit(read_only=True) as unit:
        assert await unit.outbox.owed(session_id) == []
        assert await unit.timers.of_session(session_id) == []
        assert await unit.sessions.leftovers(session_id) == []
        users = await unit.users.get_many([ANA, BEN])
    assert await db.steps.cards(session_id) == [CardRecord(ANA, ANA, 11, 2, "holding")]
    assert (users[ANA].reachable, users[BEN].reachable) == (True, False)


async def test_a_retry_of_older_cards_leaves_a_newer_steps_row(db: Database) -> None:
    session_id = await lobby_session(db, reachable=True)
    newer = TimerRecord(session_id, "cards", "cards", 5, NOW, claimed_by="me")
    await db.steps.step(session_id, lambda record: _next(record, timers=[newer]), NOW)
    retry = TimerRecord(session_id, "cards", "cards", 4, NOW + timedelta(seconds=2), attempt=1)

    await db.steps.delivered(session_id, 4, [], [], retry, "cards", NOW)
    await db.steps.delivered(session_id, 4, [], [], None, "cards", NOW)

    async with db.unit(read_only=True) as unit:
        [row] = await unit.timers.of_session(session_id)
    assert (row.version, row.claimed_by) == (5, "me")


async def test_a_card_noted_late_for_an_older_step_is_handed_back_itself(db: Database) -> None:
    session_id = await lobby_session(db, reachable=True)
    await db.steps.note_cards(session_id, [CardRecord(BEN, BEN, 20, 5, "setup")])

    leftovers = await db.steps.note_cards(session_id, [CardRecord(BEN, BEN, 19, 4, "holding")])

    assert leftovers == [LeftoverRecord(session_id, BEN, BEN, 19)]
    assert await db.steps.cards(session_id) == [CardRecord(BEN, BEN, 20, 5, "setup")]


async def test_a_late_edit_of_an_older_step_is_not_handed_back_when_it_is_the_card(
    db: Database,
) -> None:
    session_id = await lobby_session(db, reachable=True)
    await db.steps.note_cards(session_id, [CardRecord(BEN, BEN, 20, 5, "paused")])

    assert await db.steps.note_cards(session_id, [CardRecord(BEN, BEN, 20, 4, "holding")]) == []
    assert await db.steps.cards(session_id) == [CardRecord(BEN, BEN, 20, 5, "paused")]


async def test_a_unit_that_fails_half_way_leaves_nothing_of_it(db: Database) -> None:
    session_id = await lobby_session(db, reachable=True)
    # The state is written first; a timer of a session that does not exist then breaks
    # its foreign key, after the save.
    broken = _hold(session_id + 1000, 2, NOW)

    with pytest.raises(Exception, match=r"(?i)foreign key"):
        await db.steps.step(
            session_id,
            lambda record: _next(record, owed=[ANA], owed_kind="holding", timers=[broken]),
            NOW,
        )

    async with db.unit(read_only=True) as unit:
        stored = await unit.sessions.get(session_id)
        assert await unit.outbox.owed(session_id) == []
    assert stored is not None and (stored.revision, stored.phase) == (0, "lobby")
    # And the connection it failed on serves the next unit.
    assert (await db.steps.step(session_id, lambda record: _next(record), NOW)).saved


async def test_a_step_claims_the_cards_it_edits_in_place_for_its_revision(db: Database) -> None:
    session_id = await lobby_session(db, reachable=True)
    await db.steps.note_cards(
        session_id, [CardRecord(ANA, ANA, 10, 0, "setup"), CardRecord(BEN, BEN, 20, 0, "setup")]
    )
    seen: list[list[int]] = []

    def only_ana(cards: object) -> list[int]:
        seen.append([card.user_id for card in cards])  # type: ignore[attr-defined]
        return [ANA]

    outcome = await db.steps.step(session_id, lambda r: _next(r, claim=only_ana), NOW)

    assert outcome.saved and outcome.claimed == (ANA,)
    assert seen == [[ANA, BEN]] and [c.user_id for c in outcome.cards] == [ANA, BEN]
    ana, ben = await db.steps.cards(session_id)
    # Claimed for revision 1, on its way: an edit claimed after it waits for it.
    assert (ana.shows, ana.landed) == (1, 0)
    assert (ben.shows, ben.landed) == (0, 0)


async def test_a_refused_step_claims_nothing(db: Database) -> None:
    session_id = await lobby_session(db, reachable=True)
    await db.steps.note_cards(session_id, [CardRecord(ANA, ANA, 10, 0, "setup")])

    def refuse(record: SessionRecord) -> StepWrite:
        raise Refused

    with pytest.raises(Refused):
        await db.steps.step(session_id, refuse, NOW)

    [card] = await db.steps.cards(session_id)
    assert (card.shows, card.landed) == (0, 0)


async def test_a_new_message_noted_here_does_not_wait_for_a_claim_on_the_old_one(
    db: Database,
) -> None:
    session_id = await lobby_session(db, reachable=True)
    await db.steps.note_cards(session_id, [CardRecord(ANA, ANA, 10, 0, "setup")])
    await db.steps.step(session_id, lambda r: _next(r, claim=lambda cards: [ANA]), NOW)

    # The same message edited into the next step keeps its claim waiting...
    await db.steps.note_cards(session_id, [CardRecord(ANA, ANA, 10, 2, "holding")])
    [same] = await db.steps.cards(session_id)
    assert (same.shows, same.landed) == (1, 0)
    # ... a new message does not: nothing is on its way to it.
    await db.steps.note_cards(session_id, [CardRecord(ANA, ANA, 11, 3, "setup")])
    [card] = await db.steps.cards(session_id)
    assert (card.message_id, card.shows, card.landed) == (11, 1, 1)


async def test_a_delivery_moves_both_phones_cards_each_by_its_own_message(
    db: Database,
) -> None:
    # Ana's card is edited in place, Ben's comes as a new message: one statement moves
    # both on PostgreSQL, and each keeps the rule of its own case.
    session_id = await lobby_session(db, reachable=True)
    await db.steps.note_cards(
        session_id, [CardRecord(ANA, ANA, 10, 0, "setup"), CardRecord(BEN, BEN, 20, 0, "setup")]
    )
    await db.steps.step(session_id, lambda r: _next(r, claim=lambda cards: [ANA, BEN]), NOW)

    leftovers = await db.steps.delivered(
        session_id,
        2,
        [CardRecord(ANA, ANA, 10, 2, "holding"), CardRecord(BEN, BEN, 21, 2, "holding")],
        [],
        None,
        "cards",
        NOW,
    )

    assert leftovers == [LeftoverRecord(session_id, BEN, BEN, 20)]
    ana, ben = await db.steps.cards(session_id)
    # The same message keeps its claim waiting; the new one waits for nothing.
    assert (ana.message_id, ana.version, ana.kind, ana.shows, ana.landed) == (
        10,
        2,
        "holding",
        1,
        0,
    )
    assert (ben.message_id, ben.version, ben.kind, ben.shows, ben.landed) == (
        21,
        2,
        "holding",
        1,
        1,
    )


async def _owing_both_their_hold_cards(db: Database) -> int:
    """A session whose step (version 2) owes both phones its card, its cards' timer held
    by this worker."""
    session_id = await lobby_session(db, reachable=True)
    held = TimerRecord(session_id, "cards", "cards", 2, NOW, claimed_by="me")
    await db.steps.step(
        session_id,
        lambda record: _next(record, owed=[ANA, BEN], owed_kind="holding", timers=[held]),
        NOW,
    )
    return session_id


async def test_a_delivery_with_one_card_shown_and_one_to_retry_keeps_the_other_owed(
    db: Database,
) -> None:
    session_id = await _owing_both_their_hold_cards(db)
    await db.steps.leave_behind([LeftoverRecord(session_id, ANA, ANA, 7)])
    retry = TimerRecord(session_id, "cards", "cards", 2, NOW + timedelta(seconds=2), attempt=1)

    leftovers = await db.steps.delivered(
        session_id, 2, [CardRecord(ANA, ANA, 11, 2, "holding")], [], retry, "cards", NOW
    )

    assert leftovers == [LeftoverRecord(session_id, ANA, ANA, 7)]
    async with db.unit(read_only=True) as unit:
        owed = await unit.outbox.owed(session_id)
        [row] = await unit.timers.of_session(session_id)
    assert [card.user_id for card in owed] == [BEN]
    assert (row.version, row.due_at, row.attempt, row.claimed_by) == (2, retry.due_at, 1, None)


async def test_a_delivery_takes_the_outbox_rows_before_the_timers(
    db: Database, other_worker: Database
) -> None:
    # As a step (below): on PostgreSQL the delivery settles the outbox and drops the
    # cards' timer in one statement, and must wait for the outbox rows holding no timer.
    if db.dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    session_id = await _owing_both_their_hold_cards(db)
    shown = [CardRecord(ANA, ANA, 11, 2, "holding"), CardRecord(BEN, BEN, 21, 2, "holding")]

    delivery = db.steps.delivered(session_id, 2, shown, [], None, "cards", NOW)
    assert await _waits_for_the_outbox_holding_no_timer(other_worker, session_id, delivery) == []
    async with db.unit(read_only=True) as unit:
        assert await unit.outbox.owed(session_id) == []
        assert await unit.timers.of_session(session_id) == []


async def test_edits_landed_then_delivered_writes_the_delivery_only_when_settled(
    db: Database,
) -> None:
    session_id = await lobby_session(db, reachable=True)
    cards_row = TimerRecord(session_id, "cards", "cards", 2, NOW, claimed_by="me")
    await db.steps.step(
        session_id,
        lambda record: _next(record, owed=[ANA], owed_kind="holding", timers=[cards_row]),
        NOW,
    )
    await db.steps.note_cards(session_id, [CardRecord(ANA, ANA, 10, 1, "setup")])
    await db.steps.claim_cards(session_id, 3, [ANA])
    note = DeliveryNote(2, [CardRecord(ANA, ANA, 10, 2, "holding")], [], None, "cards", NOW)
    seen: list[list[CardRecord]] = []

    def unsettled(cards: Sequence[CardRecord]) -> bool:
        seen.append(list(cards))
        return False

    # A card needs showing again: the landing alone is written, the delivery waits.
    [landed], written = await db.steps.landed_then_delivered(session_id, 3, [ANA], unsettled, note)
    assert written is None and seen == [[landed]] and landed.landed == 3
    async with db.unit(read_only=True) as unit:
        assert [card.user_id for card in await unit.outbox.owed(session_id)] == [ANA]

    # Settled: the delivery is written in the same trip, as `delivered` writes it.
    await db.steps.claim_cards(session_id, 4, [ANA])
    [landed], written = await db.steps.landed_then_delivered(
        session_id, 4, [ANA], lambda _cards: True, note
    )
    assert written == [] and landed.landed == 4
    async with db.unit(read_only=True) as unit:
        assert await unit.outbox.owed(session_id) == []
        assert await unit.timers.of_session(session_id) == []
    [card] = await db.steps.cards(session_id)
    assert (card.message_id, card.version, card.kind) == (10, 2, "holding")


async def test_edits_landed_stand_when_the_delivery_written_with_them_fails(
    db: Database,
) -> None:
    session_id = await lobby_session(db, reachable=True)
    await db.steps.note_cards(session_id, [CardRecord(ANA, ANA, 10, 1, "setup")])
    await db.steps.claim_cards(session_id, 3, [ANA])
    # A retry row for a session that does not exist: the delivery's write fails.
    orphan = TimerRecord(session_id + 1000, "cards", "cards", 2, NOW)
    note = DeliveryNote(2, [], [BEN], orphan, "cards", NOW)

    with pytest.raises(Exception, match=r"(?i)foreign key"):
        await db.steps.landed_then_delivered(session_id, 3, [ANA], lambda _cards: True, note)

    # The edit reached Telegram: the next edit of that card must not wait for it.
    [card] = await db.steps.cards(session_id)
    assert (card.shows, card.landed) == (3, 3)


async def test_a_lane_dropped_and_armed_in_one_step_holds_the_new_timer(db: Database) -> None:
    session_id = await lobby_session(db, reachable=True)
    first, second = NOW + timedelta(seconds=30), NOW + timedelta(seconds=45)
    tick = TimerRecord(session_id, "tick", "tick", 2, NOW + timedelta(seconds=5))
    await db.steps.step(
        session_id, lambda record: _next(record, timers=[_hold(session_id, 2, first), tick]), NOW
    )

    # The state stays (no change): only the timers move, the hold's lane anew, the tick's
    # lane gone.
    outcome = await db.steps.step(
        session_id,
        lambda _record: StepWrite(
            None, drop_lanes=("step", "tick"), timers=[_hold(session_id, 3, second)]
        ),
        NOW,
    )

    assert outcome.saved
    async with db.unit(read_only=True) as unit:
        [timer] = await unit.timers.of_session(session_id)
        stored = await unit.sessions.get(session_id)
    assert (timer.lane, timer.version, timer.due_at) == ("step", 3, second)
    assert stored is not None and stored.revision == 1


async def test_the_cards_owed_come_with_the_phones_cards_and_the_edits_claimed(
    db: Database,
) -> None:
    session_id = await lobby_session(db, reachable=True)
    await db.steps.step(
        session_id, lambda record: _next(record, owed=[BEN, ANA], owed_kind="holding"), NOW
    )
    await db.steps.note_cards(
        session_id, [CardRecord(ANA, ANA, 10, 1, "setup"), CardRecord(BEN, BEN, 20, 1, "setup")]
    )
    seen: list[tuple[int, tuple[int, ...], list[int]]] = []

    def only_ben(
        record: SessionRecord, owed: Sequence[int], cards: Sequence[CardRecord]
    ) -> list[int]:
        seen.append((record.version, tuple(owed), [card.message_id for card in cards]))
        return [BEN]

    # Another version than the session's: who is owed, and nothing claimed.
    stale = await db.steps.owed(session_id, 1, only_ben)
    assert stale.record is not None and stale.owed == (ANA, BEN)
    assert (stale.cards, stale.claimed, seen) == ((), (), [])

    found = await db.steps.owed(session_id, 2, only_ben)

    assert found.record is not None and found.record.revision == 1
    assert found.owed == (ANA, BEN) and found.claimed == (BEN,)
    assert [card.message_id for card in found.cards] == [10, 20]
    assert seen == [(2, (ANA, BEN), [10, 20])]
    ana, ben = await db.steps.cards(session_id)
    assert (ana.shows, ben.shows, ben.landed) == (0, 1, 0)
    assert (await db.steps.owed(404, None, only_ben)).record is None


async def test_a_step_takes_the_outbox_rows_before_the_timers_as_a_delivery_does(
    db: Database, other_worker: Database
) -> None:
    # A delivery (another worker's) settles the cards owed, then drops the cards' timer.
    # A step on PostgreSQL writes both in one statement: if it took the timer's row
    # first, each would wait for the other, and PostgreSQL would fail one of them (seen
    # with two workers: a Ready lost to "deadlock detected"). The other worker here holds
    # the outbox rows; the step must wait for them holding no timer row.
    if db.dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    session_id = await lobby_session(db, reachable=True)

    def owe_and_arm(record: SessionRecord) -> StepWrite:
        cards = TimerRecord(session_id, "cards", "cards", record.version + 1, NOW)
        return _next(record, owed=[ANA, BEN], owed_kind="holding", timers=[cards])

    await db.steps.step(session_id, owe_and_arm, NOW)

    step = db.steps.step(session_id, owe_and_arm, NOW)
    assert (await _waits_for_the_outbox_holding_no_timer(other_worker, session_id, step)).saved


async def _waits_for_the_outbox_holding_no_timer(
    other_worker: Database, session_id: int, write: Awaitable[T]
) -> T:
    """Run `write` while the other worker holds the session's outbox rows (as its
    delivery would): it must wait for them holding no timer row, so that the other
    worker's delivery, which takes the timer next, goes on instead of deadlocking."""
    async with other_worker.engine.connect() as other:
        await other.execute(
            text("UPDATE owed_cards SET kind = kind WHERE session_id = :id"), {"id": session_id}
        )
        waiting = asyncio.ensure_future(write)
        await wait_until(lambda: _waiting_for_a_lock(other_worker), what="the write to wait")

        found = await other.execute(
            text(
                "SELECT lane FROM session_timers WHERE session_id = :id AND lane = 'cards'"
                " FOR UPDATE NOWAIT"
            ),
            {"id": session_id},
        )
        assert found.scalar_one() == "cards"
        await other.commit()
    return await waiting


async def _waiting_for_a_lock(db: Database) -> bool:
    async with db.engine.connect() as connection:
        found = await connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
        return bool(found.scalar_one())
