"""Each phone keeps one card of a session: a new card takes the one before away, and a
delete Telegram refuses or does not answer neither loses nor holds up the new card."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.render.session import LEFT_BEHIND
from routines.plan import PlanOptions, StepKind
from tests.bot.session_helpers import (
    ANA,
    BEN,
    SECOND_TURN,
    CallCounts,
    calls_to,
    card_of,
    into_first_hold,
    on_screen,
    pair_in_database,
    stop_for_both,
    through_get_set,
    with_buttons,
)
from tests.clock import FakeClock
from tests.fake_telegram import SentMessage, World
from tests.harness import BotHarness, Person, running_bot

FAILURES = ["server_error", "timeout", "dropped"]


async def _holding(bot: BotHarness) -> tuple[SentMessage, SentMessage]:
    """Ana asked from private, Ben joined, both tapped Ready: the first hold's cards."""
    holds = await into_first_hold(bot)
    await through_get_set(bot)
    return holds


async def test_the_asked_to_join_line_and_the_join_card_go_when_the_first_card_comes(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch")
    [asked] = bot.new(ANA.id)
    [join] = bot.new(BEN.id)

    await bot.press(BEN, join, "Join")

    assert asked.deleted and join.deleted
    for person in (ANA, BEN):
        [setup] = bot.new(person.id)
        assert on_screen(bot, person)[-1:] == [setup] and card_of(bot, person) is setup


async def test_a_card_telegram_will_not_delete_shrinks_to_one_line_without_buttons(
    bot: BotHarness,
) -> None:
    ana_hold, ben_hold = await _holding(bot)
    bot.world.fail("deleteMessage", "cannot_delete", chat_id=ANA.id)

    await bot.advance(60)

    [ana_next] = bot.new(ANA.id)
    assert SECOND_TURN in ana_next.text and not ana_next.disable_notification
    assert not ana_hold.deleted
    assert ana_hold.text == LEFT_BEHIND and ana_hold.buttons == []
    assert card_of(bot, ANA) is ana_next
    assert ben_hold.deleted  # Ben's went at the cue, when his new card came


@pytest.mark.parametrize("failure", FAILURES)
async def test_a_delete_that_fails_neither_loses_nor_holds_up_the_new_card(
    bot: BotHarness, failure: str
) -> None:
    ana_hold, _ = await _holding(bot)
    bot.world.fail("deleteMessage", failure, chat_id=ANA.id)

    await bot.advance(60)

    # The new card came first, on both phones; the old one stayed where the delete failed.
    for person in (ANA, BEN):
        assert SECOND_TURN in bot.new(person.id)[-1].text
    assert not ana_hold.deleted
    # Its buttons are out of date: a tap on them changes nothing.
    answer = await bot.press(ANA, ana_hold, "Pause")
    assert answer == "That button is out of date; use the newest message."
    # It is not tried again at once: it goes with Ana's next card, at no extra call.
    await bot.press(ANA, card_of_either(bot, ANA), "Skip Child")
    assert ana_hold.deleted
    assert with_buttons(bot, ANA) == [card_of(bot, ANA)]


def card_of_either(bot: BotHarness, person: Person) -> SentMessage:
    """The newest message with session buttons (an old one may still be there)."""
    return with_buttons(bot, person)[-1]


async def test_a_card_the_partner_deleted_already_is_left_as_it_is(bot: BotHarness) -> None:
    ana_hold, _ = await _holding(bot)
    # Ana cleared her chat: the bot's delete finds nothing and asks for nothing more.
    ana_hold.deleted = True
    before = len(bot.world.calls)

    await bot.advance(60)

    assert SECOND_TURN in card_of(bot, ANA).text
    # The cue's edit finds nothing either, and is not tried again: one call each.
    assert [c.method for c in bot.world.calls[before:] if c.params.get("chat_id") == ANA.id] == [
        "editMessageText",
        "sendMessage",
        "deleteMessage",
    ]


@pytest.mark.parametrize("failure", FAILURES)
async def test_an_old_card_left_at_the_end_is_taken_away_after_a_pause(
    bot: BotHarness, failure: str
) -> None:
    ana_hold, _ = await _holding(bot)
    bot.world.fail("deleteMessage", failure, chat_id=ANA.id, times=2)

    await stop_for_both(bot, ANA, ana_hold)

    [summary] = bot.new(ANA.id)
    assert summary.text.startswith("Stopped before the first hold.")
    assert not ana_hold.deleted
    await bot.advance(1)  # the first try again fails too
    assert not ana_hold.deleted
    await bot.advance(2)
    assert ana_hold.deleted
    assert on_screen(bot, ANA)[-1:] == [summary] and with_buttons(bot, ANA) == []


async def test_an_old_card_a_restart_finds_is_taken_away_at_start_up(
    settings: Settings, clock: FakeClock
) -> None:
    world = World(clock=lambda: clock.now().timestamp())
    async with running_bot(settings, clock, world) as bot:
        ana_hold, _ = await _holding(bot)
        bot.world.fail("deleteMessage", "timeout", chat_id=ANA.id)
        await bot.advance(60)
        assert not ana_hold.deleted

    async with running_bot(settings, clock, world) as bot:
        assert ana_hold.deleted
        assert with_buttons(bot, ANA) == [card_of(bot, ANA)]
        assert SECOND_TURN in card_of(bot, ANA).text


async def test_an_ease_off_alert_goes_with_the_helpers_next_card(bot: BotHarness) -> None:
    ana_hold, _ = await _holding(bot)
    await bot.press(ANA, ana_hold, "Ease off")
    [alert] = bot.new(BEN.id)
    assert alert.text.startswith("⚠️") and not alert.disable_notification

    await bot.advance(60)

    assert alert.deleted
    assert on_screen(bot, BEN)[-1:] == [card_of(bot, BEN)]


async def test_a_whole_quick_session_leaves_each_phone_the_summary_and_nothing_else(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    plan = bot.app.bot_data.plan("quick", PlanOptions())
    since = {person: len(bot.inbox(person.id)) for person in (ANA, BEN)}
    first_call = len(bot.world.calls)
    await bot.say(ANA, "/stretch quick")
    await bot.press(BEN, bot.new(BEN.id)[-1], "Join")
    for step in plan.steps:
        if step.kind is StepKind.SETUP:
            for person in (ANA, BEN):
                await bot.press(person, card_of(bot, person), "Ready")
            await through_get_set(bot)
        elif step.kind is StepKind.HOLD:
            await bot.advance(step.seconds)
        else:
            await bot.advance(step.seconds)

    holds = sum(step.kind is StepKind.HOLD for step in plan.steps)
    for person in (ANA, BEN):
        [summary] = on_screen(bot, person, since[person])
        assert summary.text.startswith("Well done, session complete!")
        assert with_buttons(bot, person) == [summary]
        counts = calls_to(bot, person, first_call)
        print(f"{person.first_name}, quick, {holds} holds: {counts}")
        print(f"  final screen: {[m.text for m in on_screen(bot, person, since[person])]}")
    # Ana asked from private: her "asked to join" line stands where Ben's Join card does.
    assert calls_to(bot, ANA, first_call) == CallCounts(
        sends=11, edits=15, deletes=10, tap_answers=6
    )
    assert calls_to(bot, BEN, first_call) == CallCounts(
        sends=11, edits=15, deletes=10, tap_answers=7
    )
