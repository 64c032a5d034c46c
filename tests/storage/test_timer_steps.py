"""Session timers' units keep the lease's guarantees in one trip, on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.records import TimerRecord
from storage.timer_steps import Claimed
from tests.storage.session_rows import lobby_session

# Microseconds too: SQLite keeps instants as text, and a claimed row is named by its
# due instant when it is finished or moved on.
NOW = datetime(2026, 12, 6, 9, 0, 0, 123456, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def _timer(session_id: int, lane: str, due_at: datetime, **extra: object) -> TimerRecord:
    return TimerRecord(session_id, lane, "hold", 2, due_at, **extra)  # type: ignore[arg-type]


async def _lanes(db: Database, session_id: int) -> dict[str, TimerRecord]:
    async with db.unit(read_only=True) as unit:
        return {timer.lane: timer for timer in await unit.timers.of_session(session_id)}


async def test_a_claim_takes_what_is_due_most_overdue_first_and_says_when_the_next_is_free(
    db: Database,
) -> None:
    session_id = await lobby_session(db)
    later = NOW + timedelta(seconds=10)
    for lane, due_at in (("b", NOW - timedelta(seconds=1)), ("a", NOW), ("c", later)):
        await db.timers.arm(_timer(session_id, lane, due_at, later=(later,)))
    assert await db.timers.soonest() == NOW - timedelta(seconds=1)

    claimed = await db.timers.claim(NOW, "worker-1", NOW + LEASE, 10)

    assert [(t.lane, t.due_at, t.later) for t in claimed.timers] == [
        ("b", NOW - timedelta(seconds=1), (later,)),
        ("a", NOW, (later,)),
    ]
    assert {(t.claimed_by, t.available_at) for t in claimed.timers} == {("worker-1", NOW + LEASE)}
    # The poller need not read again: the row left is due at `later`.
    assert claimed.next_due == later == await db.timers.soonest()
    stored = await _lanes(db, session_id)
    assert (stored["a"].claimed_by, stored["a"].available_at) == ("worker-1", NOW + LEASE)
    assert (stored["c"].claimed_by, stored["c"].available_at) == (None, later)


async def test_a_claim_of_a_few_says_that_more_are_due(db: Database) -> None:
    session_id = await lobby_session(db)
    for lane, seconds in (("a", 2), ("b", 1), ("c", 0)):
        await db.timers.arm(_timer(session_id, lane, NOW - timedelta(seconds=seconds)))

    first = await db.timers.claim(NOW, "worker-1", NOW + LEASE, 2)

    assert [t.lane for t in first.timers] == ["a", "b"]
    assert first.next_due == NOW
    second = await db.timers.claim(NOW, "worker-1", NOW + LEASE, 2)
    assert [t.lane for t in second.timers] == ["c"]
    assert second.next_due == NOW + LEASE
    assert await db.timers.claim(NOW, "worker-1", NOW + LEASE, 2) == Claimed((), None)


async def test_a_claimed_timer_is_taken_by_another_worker_only_once_its_lease_is_over(
    db: Database,
) -> None:
    session_id = await lobby_session(db)
    await db.timers.arm(_timer(session_id, "step", NOW))
    [mine] = (await db.timers.claim(NOW, "worker-1", NOW + LEASE, 10)).timers

    almost = NOW + LEASE - timedelta(microseconds=1)
    assert (await db.timers.claim(almost, "worker-2", almost + LEASE, 10)).timers == ()
    [theirs] = (await db.timers.claim(NOW + LEASE, "worker-2", NOW + 2 * LEASE, 10)).timers

    assert (theirs.claimed_by, theirs.due_at) == ("worker-2", NOW)
    # The first worker comes back late: the row is no longer its to finish.
    assert not await db.timers.finish(mine)
    assert set(await _lanes(db, session_id)) == {"step"}
    assert await db.timers.finish(theirs)
    assert await _lanes(db, session_id) == {}


async def test_a_row_armed_anew_meanwhile_is_neither_moved_on_nor_finished(
    db: Database,
) -> None:
    session_id = await lobby_session(db)
    await db.timers.arm(_timer(session_id, "tick", NOW))
    [held] = (await db.timers.claim(NOW, "worker-1", NOW + LEASE, 10)).timers
    # The session moved on while the tick was carried out: its step armed the lane anew.
    anew = TimerRecord(session_id, "tick", "tick", 3, NOW + timedelta(seconds=5))
    await db.timers.arm(anew)

    following = TimerRecord(session_id, "tick", "tick", 2, NOW + timedelta(seconds=20))
    assert not await db.timers.move_on(held, following)
    assert not await db.timers.finish(held)

    [stored] = (await _lanes(db, session_id)).values()
    assert (stored.version, stored.due_at, stored.claimed_by) == (3, anew.due_at, None)


async def test_moving_on_a_held_row_frees_it_for_its_next_instant(db: Database) -> None:
    session_id = await lobby_session(db)
    ticks = (NOW + timedelta(seconds=40), NOW + timedelta(seconds=60))
    await db.timers.arm(TimerRecord(session_id, "tick", "tick", 2, NOW, later=ticks))
    [held] = (await db.timers.claim(NOW, "worker-1", NOW + LEASE, 10)).timers
    following = TimerRecord(session_id, "tick", "tick", 2, ticks[0], later=ticks[1:], attempt=1)

    assert await db.timers.move_on(held, following)

    [stored] = (await _lanes(db, session_id)).values()
    assert stored == TimerRecord(
        session_id, "tick", "tick", 2, ticks[0], ticks[1:], 1, ticks[0], None
    )
    assert await db.timers.soonest() == ticks[0]
    # Nothing follows the last tick: the row goes.
    [last] = (await db.timers.claim(ticks[0], "worker-1", ticks[0] + LEASE, 10)).timers
    assert await db.timers.move_on(last, None)
    assert await _lanes(db, session_id) == {}
    assert await db.timers.soonest() is None


async def test_two_workers_claiming_at_once_never_take_the_same_timer(
    db: Database, other_worker: Database
) -> None:
    session_id = await lobby_session(db)
    lanes = [f"l{n}" for n in range(60)]
    for lane in lanes:
        await db.timers.arm(_timer(session_id, lane, NOW))

    taken: dict[str, list[str]] = {"worker-1": [], "worker-2": []}
    for _ in range(len(lanes)):
        claims = await asyncio.gather(
            db.timers.claim(NOW, "worker-1", NOW + LEASE, 3),
            other_worker.timers.claim(NOW, "worker-2", NOW + LEASE, 3),
        )
        for worker, claimed in zip(taken, claims, strict=True):
            taken[worker] += [timer.lane for timer in claimed.timers]
        if not any(claimed.timers for claimed in claims):
            break

    both = taken["worker-1"] + taken["worker-2"]
    assert sorted(both) == sorted(lanes)  # each once, and none left behind
    stored = await _lanes(db, session_id)
    assert all(stored[lane].claimed_by == worker for worker in taken for lane in taken[worker])


async def test_on_postgresql_a_claim_skips_the_rows_another_worker_holds_instead_of_waiting(
    db: Database, other_worker: Database
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("row locks with SKIP LOCKED are PostgreSQL's")
    session_id = await lobby_session(db)
    for lane in ("a", "b", "c"):
        await db.timers.arm(_timer(session_id, lane, NOW))

    # Another worker is in the middle of its claim of "a" and "b": their rows are locked.
    async with other_worker.engine.connect() as connection:
        await connection.execute(
            text("SELECT lane FROM session_timers WHERE lane IN ('a', 'b') FOR UPDATE")
        )
        claimed = await asyncio.wait_for(db.timers.claim(NOW, "worker-1", NOW + LEASE, 10), 5)
        await connection.rollback()

    assert [timer.lane for timer in claimed.timers] == ["c"]
