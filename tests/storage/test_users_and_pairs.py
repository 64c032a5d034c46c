"""Users and pairs as the repositories see them, on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from storage.db import Database

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def _users(db: Database, *ids: int) -> None:
    async with db.unit() as unit:
        for user_id in ids:
            await unit.users.remember(user_id, f"user{user_id}", None, NOW)
        await unit.commit()


async def test_a_user_seen_in_a_group_stays_unreachable_until_start(db: Database) -> None:
    async with db.unit() as unit:
        first = await unit.users.remember(1, "Ana", None, NOW)
        await unit.commit()
    async with db.unit() as unit:
        started = await unit.users.remember(1, "Ana B", "ana", NOW, reachable=True)
        seen_again = await unit.users.remember(1, "Ana B", "ana", NOW)
        await unit.commit()

    assert not first.reachable
    assert started.reachable and started.first_name == "Ana B"
    assert seen_again.reachable


async def test_telegram_ids_beyond_32_bits_are_stored(db: Database) -> None:
    big = 7_123_456_789
    await _users(db, big)
    async with db.unit() as unit:
        user = await unit.users.get(big)
    assert user is not None and user.id == big


async def test_the_same_two_people_are_one_pair_whatever_the_order(db: Database) -> None:
    await _users(db, 1, 2)
    async with db.unit() as unit:
        pair, created = await unit.pairs.create(2, 1, NOW, timezone="Europe/Berlin")
        again, created_again = await unit.pairs.create(1, 2, NOW)
        await unit.commit()

    assert created and not created_again
    assert again.id == pair.id and again.timezone == "Europe/Berlin"
    assert pair.members == (1, 2) and pair.partner_of(1) == 2
    assert pair.created_at == NOW


async def test_a_pair_with_oneself_is_refused(db: Database) -> None:
    await _users(db, 1)
    async with db.unit() as unit:
        with pytest.raises(ValueError, match="two different people"):
            await unit.pairs.create(1, 1, NOW)


async def test_two_units_pairing_the_same_people_at_once_make_one_pair(db: Database) -> None:
    await _users(db, 1, 2)

    async def pair_up(first: int, second: int) -> tuple[int, bool]:
        async with db.unit() as unit:
            pair, created = await unit.pairs.create(first, second, NOW)
            await unit.commit()
        return pair.id, created

    results = await asyncio.gather(pair_up(1, 2), pair_up(2, 1))

    assert len({pair_id for pair_id, _ in results}) == 1
    assert sorted(created for _, created in results) == [False, True]
    async with db.unit() as unit:
        assert len(await unit.pairs.of_user(1)) == 1


async def test_removing_one_pair_keeps_the_users_other_pairs(db: Database) -> None:
    await _users(db, 1, 2, 3)
    async with db.unit() as unit:
        first, _ = await unit.pairs.create(1, 2, NOW)
        await unit.pairs.create(1, 3, NOW)
        await unit.commit()
    async with db.unit() as unit:
        assert await unit.pairs.remove(first.id)
        await unit.commit()
    async with db.unit() as unit:
        remaining = await unit.pairs.of_user(1)
    assert [pair.members for pair in remaining] == [(1, 3)]


async def test_a_read_only_unit_reads_a_snapshot_while_a_writer_holds_the_lock(
    db: Database,
) -> None:
    await _users(db, 1)
    async with db.unit() as writer:
        await writer.users.remember(1, "Renamed", None, NOW)
        # The writer has not committed: a reader sees the last committed state at once.
        async with db.unit(read_only=True) as reader:
            seen = await asyncio.wait_for(reader.users.get(1), timeout=2)
        await writer.commit()

    assert seen is not None and seen.first_name == "user1"


async def test_a_card_from_an_older_step_never_replaces_a_newer_one(db: Database) -> None:
    from storage.records import CardRecord, SessionChange

    await _users(db, 1, 2)
    async with db.unit() as unit:
        pair, _ = await unit.pairs.create(1, 2, NOW)
        change = SessionChange(phase="setup", live=True, version=5, deadline=None, state={})
        record = await unit.sessions.add(
            pair_id=pair.id,
            routine_id="quick",
            seats=(1, 2),
            origin_chat_id=1,
            options={},
            change=change,
            now=NOW,
        )
        await unit.sessions.note_cards(record.id, [CardRecord(1, 1, 40, 5, "hold")])
        await unit.sessions.note_cards(record.id, [CardRecord(1, 1, 39, 4, "setup")])
        cards = await unit.sessions.cards(record.id)
        await unit.commit()

    assert [(c.message_id, c.version) for c in cards] == [(40, 5)]


async def test_moving_a_home_group_moves_only_the_pairs_at_home_there(db: Database) -> None:
    """A group upgraded to a supergroup gets a new id (past 32 bits); its pairs follow."""
    await _users(db, 1, 2, 3)
    old, new, other = -100777, -1009876543210, -100555
    async with db.unit() as unit:
        moving, _ = await unit.pairs.create(1, 2, NOW)
        staying, _ = await unit.pairs.create(1, 3, NOW)
        await unit.pairs.set_home_chat(moving.id, old)
        await unit.pairs.set_home_chat(staying.id, other)
        await unit.commit()

    async with db.unit() as unit:
        assert await unit.pairs.move_home(old, new) == 1
        assert await unit.pairs.move_home(old, new) == 0
        await unit.commit()

    async with db.unit() as unit:
        moved, kept = await unit.pairs.get(moving.id), await unit.pairs.get(staying.id)
    assert moved is not None and moved.home_chat_id == new
    assert kept is not None and kept.home_chat_id == other
