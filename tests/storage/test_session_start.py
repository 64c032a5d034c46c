"""A session's start in one trip keeps the repositories' guarantees, on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from storage.db import Database
from storage.records import SessionChange, TimerRecord
from storage.session_start import Opening, StartRead
from storage.session_steps import StepWrite

# Microseconds too: SQLite keeps instants as text, and they must come back the same.
NOW = datetime(2026, 12, 6, 9, 0, 0, 123456, tzinfo=UTC)
ANA, BEN = 101, 202
IDLE = NOW + timedelta(minutes=30)


class Busy(Exception):
    pass


async def _pair(db: Database) -> int:
    async with db.unit() as unit:
        await unit.users.remember(ANA, "Ana", None, NOW, reachable=True)
        await unit.users.remember(BEN, "Ben", None, NOW, reachable=False)
        pair, _ = await unit.pairs.create(ANA, BEN, NOW)
        await unit.commit()
    return pair.id


def _opening(read: StartRead) -> Opening:
    """As the sessions service decides: nobody may be in two live sessions."""
    if ANA in read.busy or BEN in read.busy:
        raise Busy
    assert read.pair is not None
    names = [read.users[ANA].first_name, read.users[BEN].first_name]
    return Opening(
        pair_id=read.pair.id,
        routine_id="quick",
        seats=(ANA, BEN),
        origin_chat_id=ANA,
        options={"names": names, "zone": read.pair.timezone},
        change=SessionChange("lobby", True, 1, IDLE, {"step": 0}),
        first_id=BEN,
        write=lambda session_id: StepWrite(
            None,
            owed=[ANA, BEN],
            owed_kind="lobby",
            timers=[TimerRecord(session_id, "step", "idle", 1, IDLE)],
        ),
    )


async def test_a_start_writes_the_session_its_owed_cards_its_timers_and_who_went_first(
    db: Database,
) -> None:
    pair_id = await _pair(db)
    seen: list[StartRead] = []

    def opening(read: StartRead) -> Opening:
        seen.append(read)
        return _opening(read)

    record = await db.starts.start(pair_id, (ANA, BEN), opening, NOW)

    [read] = seen
    assert read.pair is not None and (read.pair.id, read.pair.last_first_id) == (pair_id, None)
    assert {u.id: (u.first_name, u.reachable) for u in read.users.values()} == {
        ANA: ("Ana", True),
        BEN: ("Ben", False),
    }
    assert read.busy == {}
    assert await db.steps.read(record.id) == record
    assert (record.phase, record.version, record.revision, record.deadline) == (
        "lobby",
        1,
        0,
        IDLE,
    )
    assert record.options == {"names": ["Ana", "Ben"], "zone": "UTC"}
    async with db.unit(read_only=True) as unit:
        owed = await unit.outbox.owed(record.id)
        [timer] = await unit.timers.of_session(record.id)
        pair = await unit.pairs.get(pair_id)
    assert [(card.user_id, card.version, card.kind) for card in owed] == [
        (ANA, 1, "lobby"),
        (BEN, 1, "lobby"),
    ]
    assert (timer.lane, timer.kind, timer.due_at) == ("step", "idle", IDLE)
    assert pair is not None and pair.last_first_id == BEN
    # The poller finds the idle limit as any other timer.
    assert await db.timers.soonest() == IDLE


async def test_a_refused_start_writes_nothing(db: Database) -> None:
    pair_id = await _pair(db)
    await db.starts.start(pair_id, (ANA, BEN), _opening, NOW)

    with pytest.raises(Busy):
        await db.starts.start(pair_id, (BEN, ANA), _opening, NOW)

    async with db.unit(read_only=True) as unit:
        busy = await unit.sessions.live_of_user(BEN)
        assert [record.id for record in await unit.sessions.live()] == [1]
    assert busy is not None and busy.id == 1


async def test_two_starts_at_once_for_the_same_people_open_one_session(
    db: Database, other_worker: Database
) -> None:
    pair_id = await _pair(db)
    # Both connected already, so the two starts do overlap.
    for worker in (db, other_worker):
        assert await worker.steps.read(pair_id + 1000) is None

    outcomes = await asyncio.gather(
        db.starts.start(pair_id, (ANA, BEN), _opening, NOW),
        other_worker.starts.start(pair_id, (BEN, ANA), _opening, NOW),
        return_exceptions=True,
    )

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["Busy", "SessionRecord"]
    async with db.unit(read_only=True) as unit:
        assert len(await unit.sessions.live()) == 1
