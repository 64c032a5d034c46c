"""Invites, group pair requests and racing pair creation, on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from storage.db import Database
from storage.records import PairRecord

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
HASH = "a" * 64


async def _users(db: Database, *ids: int) -> None:
    async with db.unit() as unit:
        for user_id in ids:
            await unit.users.remember(user_id, f"user{user_id}", None, NOW)
        await unit.commit()


async def _invite(db: Database, inviter: int = 1, token_hash: str = HASH) -> int:
    async with db.unit() as unit:
        invite = await unit.invites.add(token_hash, inviter, NOW, NOW + DAY)
        await unit.commit()
    return invite.id


async def test_an_invite_is_found_by_its_hash_only(db: Database) -> None:
    await _users(db, 1)
    invite_id = await _invite(db)

    async with db.unit() as unit:
        found = await unit.invites.find(HASH)
        missing = await unit.invites.find("b" * 64)

    assert missing is None
    assert found is not None and found.id == invite_id and found.inviter_id == 1
    assert found.created_at == NOW and found.expires_at == NOW + DAY
    assert found.used_at is None and found.used_by_id is None and found.outcome is None


async def test_the_first_person_to_open_an_invite_holds_it(db: Database) -> None:
    await _users(db, 1, 2, 3)
    invite_id = await _invite(db)

    async with db.unit() as unit:
        first = await unit.invites.claim(invite_id, 2, NOW)
        again = await unit.invites.claim(invite_id, 2, NOW)
        other = await unit.invites.claim(invite_id, 3, NOW)
        await unit.commit()

    assert (first, again, other) == (True, True, False)
    async with db.unit() as unit:
        invite = await unit.invites.get(invite_id)
    assert invite is not None and invite.used_by_id == 2


async def test_an_invite_is_used_once_and_only_by_its_holder(db: Database) -> None:
    await _users(db, 1, 2, 3)
    invite_id = await _invite(db)
    async with db.unit() as unit:
        await unit.invites.claim(invite_id, 2, NOW)
        await unit.commit()

    async with db.unit() as unit:
        by_other = await unit.invites.use(invite_id, 3, NOW, "accepted")
        by_holder = await unit.invites.use(invite_id, 2, NOW, "accepted")
        twice = await unit.invites.use(invite_id, 2, NOW, "declined")
        claim_after = await unit.invites.claim(invite_id, 2, NOW)
        await unit.commit()

    assert (by_other, by_holder, twice, claim_after) == (False, True, False, False)
    async with db.unit() as unit:
        invite = await unit.invites.get(invite_id)
    assert invite is not None and invite.used_at == NOW and invite.outcome == "accepted"


async def test_an_expired_invite_can_be_neither_opened_nor_used(db: Database) -> None:
    await _users(db, 1, 2)
    invite_id = await _invite(db)
    async with db.unit() as unit:
        await unit.invites.claim(invite_id, 2, NOW)
        await unit.commit()

    async with db.unit() as unit:
        claimed = await unit.invites.claim(invite_id, 2, NOW + DAY)
        used = await unit.invites.use(invite_id, 2, NOW + DAY, "accepted")

    assert not claimed and not used


async def test_two_answers_to_one_invite_at_once_use_it_once(db: Database) -> None:
    await _users(db, 1, 2)
    invite_id = await _invite(db)
    async with db.unit() as unit:
        await unit.invites.claim(invite_id, 2, NOW)
        await unit.commit()

    async def answer(outcome: str) -> bool:
        async with db.unit() as unit:
            used = await unit.invites.use(invite_id, 2, NOW, outcome)
            await unit.commit()
        return used

    results = await asyncio.gather(answer("accepted"), answer("declined"))

    assert sorted(results) == [False, True]


async def test_a_pair_request_is_answered_once(db: Database) -> None:
    await _users(db, 1, 2)
    async with db.unit() as unit:
        request = await unit.pair_requests.add(-100500, 1, 2, NOW)
        await unit.commit()

    async with db.unit() as unit:
        first = await unit.pair_requests.resolve(request.id, NOW, "accepted")
        second = await unit.pair_requests.resolve(request.id, NOW, "declined")
        await unit.commit()
    async with db.unit() as unit:
        stored = await unit.pair_requests.get(request.id)

    assert (first, second) == (True, False)
    assert stored is not None and stored.outcome == "accepted" and stored.resolved_at == NOW
    assert (stored.chat_id, stored.requester_id, stored.partner_id) == (-100500, 1, 2)


async def test_a_users_time_zone_is_kept_and_refreshing_the_user_keeps_it(
    db: Database,
) -> None:
    await _users(db, 1)
    async with db.unit() as unit:
        await unit.users.set_timezone(1, "Asia/Kathmandu", NOW)
        await unit.commit()
    async with db.unit() as unit:
        refreshed = await unit.users.remember(1, "Ana", "ana", NOW, reachable=True)
        await unit.commit()

    assert refreshed.timezone == "Asia/Kathmandu"


async def test_two_units_that_both_saw_no_pair_still_make_one(db: Database) -> None:
    """Both look first, find nothing, then insert: the unique key decides."""
    await _users(db, 1, 2)
    # SQLite takes the write lock when a unit begins, so there the two run one after the
    # other; on PostgreSQL both really hold a transaction open and look before inserting.
    looked = asyncio.Barrier(2 if db.dialect == "postgresql" else 1)

    async def pair_up(first: int, second: int) -> tuple[PairRecord, bool, PairRecord | None]:
        async with db.unit() as unit:
            seen = await unit.pairs.find(first, second)
            await looked.wait()
            pair, created = await unit.pairs.create(first, second, NOW)
            await unit.commit()
        return pair, created, seen

    results = await asyncio.gather(pair_up(1, 2), pair_up(2, 1))

    if db.dialect == "postgresql":
        assert [seen for _, _, seen in results] == [None, None]
    assert sorted(created for _, created, _ in results) == [False, True]
    assert results[0][0].id == results[1][0].id
    async with db.unit() as unit:
        assert [p.members for p in await unit.pairs.of_user(2)] == [(1, 2)]
