"""Endings are told: /unpair during a session, and a group that became a supergroup."""

from __future__ import annotations

import pytest

from bot.services import (
    timer_claims,
)
from tests.bot.session_helpers import (
    ANA,
    BEN,
    HOME,
    card_of,
    pair_in_database,
    through_get_set,
)
from tests.fake_telegram import SentMessage
from tests.harness import BotHarness, Group


async def _holding(bot: BotHarness) -> dict[int, SentMessage]:
    """Ana and Ben in the first hold of `quick`: each phone's hold card."""
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch quick")
    bot.new(ANA.id)
    [ben_lobby] = bot.new(BEN.id)
    await bot.press(BEN, ben_lobby, "Join")
    setups = {person.id: bot.new(person.id)[0] for person in (ANA, BEN)}
    for person in (ANA, BEN):
        await bot.press(person, setups[person.id], "Ready")
    await through_get_set(bot)
    # The hold is each setup card, edited: the one card on each phone.
    holds = {person.id: card_of(bot, person) for person in (ANA, BEN)}
    assert all("Hold" in card.text for card in holds.values())
    return holds


async def _unpair(bot: BotHarness) -> SentMessage:
    await bot.say(BEN, "/unpair")
    [confirm] = bot.new(BEN.id)
    await bot.press(BEN, confirm, "Yes, end it")
    return confirm


async def test_unpair_mid_session_ends_the_session_for_both_and_says_so(bot: BotHarness) -> None:
    holds = await _holding(bot)

    confirm = await _unpair(bot)

    assert confirm.text == (
        "Done: you and Ana are no longer partners. Your session together has ended too."
    )
    [told] = bot.new(ANA.id)
    assert told.text.startswith("Ben ended your partnership. Your session together has ended.")
    for card in holds.values():
        assert card.text == "This session ended: Ben ended the partnership."
        assert card.buttons == []
    # Its timers are gone with it: the hold's end brings nothing to either phone.
    await bot.advance(120)
    assert bot.new(ANA.id) == [] and bot.new(BEN.id) == []
    assert await timer_claims.of_session(bot.app.bot_data, 1) == []


async def test_unpair_without_a_session_says_nothing_of_one(bot: BotHarness) -> None:
    await pair_in_database(bot)

    confirm = await _unpair(bot)

    assert confirm.text == "Done: you and Ana are no longer partners."
    [told] = bot.new(ANA.id)
    assert "session" not in told.text


async def test_a_card_that_cannot_be_closed_still_leaves_the_partner_told(
    bot: BotHarness,
) -> None:
    holds = await _holding(bot)
    for kind in ("server_error", "timeout", "dropped", "forbidden"):
        bot.world.fail("editMessageText", kind, chat_id=ANA.id)
    bot.world.fail("answerCallbackQuery", "server_error")

    await _unpair(bot)

    [told] = bot.new(ANA.id)
    assert "Your session together has ended." in told.text
    assert holds[BEN.id].text == "This session ended: Ben ended the partnership."
    # The card left open answers a tap politely and changes nothing.
    answer = await bot.press(ANA, holds[ANA.id], "Pause")
    assert answer == "This session no longer exists."
    assert bot.new(BEN.id) == []


@pytest.mark.parametrize("kind", ["server_error", "timeout", "dropped", "retry_after"])
async def test_a_notice_of_the_end_telegram_did_not_take_is_sent_again_once(
    bot: BotHarness, kind: str
) -> None:
    await _holding(bot)
    # A 429 is retried by the rate limiter three times first: fail it past those.
    bot.world.fail("sendMessage", kind, chat_id=ANA.id, times=4 if kind == "retry_after" else 1)

    await _unpair(bot)
    assert [m.text for m in bot.new(ANA.id)] == []

    await bot.advance(5)
    await bot.advance(600)
    [told] = bot.new(ANA.id)
    assert told.text.startswith("Ben ended your partnership. Your session together has ended.")


# -- a group that becomes a supergroup --------------------------------------------------------

SUPERGROUP = Group(-1009876543210, "Us two")


async def _migrate(bot: BotHarness, *, said_in: str) -> None:
    """Telegram's service message about the upgrade, in the old group or in the new one."""
    if said_in == "old":
        await bot.say(ANA, "", chat=HOME, migrate_to_chat_id=SUPERGROUP.id)
    else:
        await bot.say(ANA, "", chat=SUPERGROUP, migrate_from_chat_id=HOME.id)


@pytest.mark.parametrize("said_in", ["old", "new", "both"])
async def test_a_group_that_became_a_supergroup_stays_the_pairs_home(
    bot: BotHarness, said_in: str
) -> None:
    pair = await pair_in_database(bot)
    for side in ("old", "new") if said_in == "both" else (said_in,):
        await _migrate(bot, said_in=side)

    async with bot.app.bot_data.db.unit() as unit:
        moved = await unit.pairs.get(pair.id)
    assert moved is not None and moved.home_chat_id == SUPERGROUP.id
    await bot.say(BEN, "/stretch", chat=SUPERGROUP)
    [line] = bot.new(SUPERGROUP.id)
    assert line.text.startswith("Ben and Ana are about to stretch")
    assert bot.inbox(HOME.id) == []


async def test_a_migration_leaves_the_pairs_of_other_groups_alone(bot: BotHarness) -> None:
    pair = await pair_in_database(bot, home=Group(-100555, "Elsewhere"))

    await _migrate(bot, said_in="old")

    async with bot.app.bot_data.db.unit() as unit:
        kept = await unit.pairs.get(pair.id)
    assert kept is not None and kept.home_chat_id == -100555
