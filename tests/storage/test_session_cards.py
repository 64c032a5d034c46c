"""The card each phone shows, and the messages it replaced (to delete), on every backend."""

from __future__ import annotations

from storage.db import Database
from storage.records import CardRecord, LeftoverRecord
from tests.storage.session_rows import ANA, BEN, lobby_session


async def _note(db: Database, session_id: int, *cards: CardRecord) -> list[LeftoverRecord]:
    async with db.unit() as unit:
        replaced = await unit.sessions.note_cards(session_id, list(cards))
        await unit.commit()
    return replaced


async def test_a_new_card_hands_back_the_one_it_replaces(db: Database) -> None:
    session_id = await lobby_session(db)
    assert await _note(db, session_id, CardRecord(ANA, ANA, 10, 1, "lobby")) == []

    # The same message edited into a newer step replaces nothing.
    assert await _note(db, session_id, CardRecord(ANA, ANA, 10, 2, "setup")) == []
    replaced = await _note(db, session_id, CardRecord(ANA, ANA, 11, 3, "holding"))

    assert replaced == [LeftoverRecord(session_id, ANA, ANA, 10)]
    async with db.unit() as unit:
        assert [card.message_id for card in await unit.sessions.cards(session_id)] == [11]


async def test_a_leftover_whose_delete_failed_is_kept_until_it_is_dropped(db: Database) -> None:
    session_id = await lobby_session(db)
    leftover = LeftoverRecord(session_id, ANA, ANA, 10)
    await db.steps.leave_behind([leftover])
    await db.steps.leave_behind([leftover])  # a second failure changes nothing
    async with db.unit() as unit:
        assert await unit.sessions.sessions_with_leftovers() == [session_id]
        assert await unit.sessions.leftovers(session_id, [BEN]) == []
        assert await unit.sessions.leftovers(session_id, [ANA]) == [leftover]
        await unit.sessions.drop_leftovers([leftover])
        await unit.commit()
    async with db.unit() as unit:
        assert await unit.sessions.leftovers(session_id) == []


async def test_a_late_card_of_an_older_step_is_a_leftover_itself(db: Database) -> None:
    session_id = await lobby_session(db)
    await _note(db, session_id, CardRecord(BEN, BEN, 20, 5, "setup"))

    leftovers = await _note(db, session_id, CardRecord(BEN, BEN, 19, 4, "holding"))

    assert leftovers == [LeftoverRecord(session_id, BEN, BEN, 19)]
    async with db.unit() as unit:
        [card] = await unit.sessions.cards(session_id)
    assert (card.message_id, card.version) == (20, 5)


async def test_a_late_edit_of_an_older_step_keeps_the_message_a_newer_step_shows(
    db: Database,
) -> None:
    # The setup card, edited into the hold (revision 4), noted only after a newer step
    # edited the same message (revision 5): that message is the phone's card, not a
    # leftover. Deleting it would leave the phone with no card at all.
    session_id = await lobby_session(db)
    await _note(db, session_id, CardRecord(BEN, BEN, 20, 5, "paused"))

    assert await _note(db, session_id, CardRecord(BEN, BEN, 20, 4, "holding")) == []
    async with db.unit() as unit:
        [card] = await unit.sessions.cards(session_id)
    assert (card.message_id, card.version, card.kind) == (20, 5, "paused")


async def _claim(db: Database, session_id: int, revision: int) -> list[CardRecord]:
    return await db.steps.claim_cards(session_id, revision, [ANA])


async def test_an_edit_claimed_for_an_older_revision_than_the_last_claim_is_refused(
    db: Database,
) -> None:
    session_id = await lobby_session(db)
    await _note(db, session_id, CardRecord(ANA, ANA, 10, 1, "setup"))

    [claimed] = await _claim(db, session_id, 5)
    # Until it is marked landed, the claim is on its way: a newer edit waits for it.
    assert claimed.shows == 5 and claimed.landed < 5
    assert await _claim(db, session_id, 4) == []
    [card] = await db.steps.edits_landed(session_id, 5, [ANA])
    assert (card.shows, card.landed) == (5, 5)
    # Claimed again for the same revision (shown once more): on its way again.
    [again] = await _claim(db, session_id, 5)
    assert (again.shows, again.landed) == (5, 4)


async def test_a_new_message_does_not_wait_for_a_claim_on_the_one_it_replaced(
    db: Database,
) -> None:
    session_id = await lobby_session(db)
    await _note(db, session_id, CardRecord(ANA, ANA, 10, 1, "setup"))
    await _claim(db, session_id, 5)  # its worker dies before marking the edit landed

    await _note(db, session_id, CardRecord(ANA, ANA, 11, 2, "setup"))

    async with db.unit() as unit:
        [card] = await unit.sessions.cards(session_id)
    assert (card.message_id, card.shows, card.landed) == (11, 5, 5)
