"""Nothing is lost on a restart; a partner who blocks the bot pauses the session."""

from __future__ import annotations

from bot.config import Settings
from tests.bot.session_helpers import (
    ANA,
    BEN,
    SECOND_TURN,
    card_of,
    into_first_hold,
    through_get_set,
)
from tests.clock import FakeClock
from tests.fake_telegram import World
from tests.harness import BotHarness, running_bot


async def test_a_hold_that_ran_out_while_the_bot_was_down_pauses_and_offers_resume(
    settings: Settings, clock: FakeClock
) -> None:
    world = World(clock=lambda: clock.now().timestamp())
    async with running_bot(settings, clock, world) as bot:
        ana_hold, ben_hold = await into_first_hold(bot)
    clock.advance(120)

    async with running_bot(settings, clock, world) as bot:
        for card in (ana_hold, ben_hold):
            assert "Paused: I was offline for a moment." in card.text
            assert [label for label, _ in card.buttons] == ["Resume", "Stop"]
        await bot.press(BEN, ben_hold, "Resume")
        # Nothing was left of that hold, so Resume moves both on to the next step.
        for person in (ANA, BEN):
            assert SECOND_TURN in bot.inbox(person.id)[-1].text


async def test_a_hold_still_running_at_restart_ends_on_time(
    settings: Settings, clock: FakeClock
) -> None:
    world = World(clock=lambda: clock.now().timestamp())
    async with running_bot(settings, clock, world) as bot:
        await into_first_hold(bot)
        await through_get_set(bot)
        ana_hold, ben_hold = card_of(bot, ANA), card_of(bot, BEN)
    # Down for 20 s of the hold: 40 s of it are left.
    clock.advance(20)

    async with running_bot(settings, clock, world) as bot:
        bot.new(ANA.id)
        bot.new(BEN.id)
        # The cards each phone had are the ones whose buttons work after the restart.
        assert card_of(bot, ANA) is ana_hold and card_of(bot, BEN) is ben_hold
        await bot.advance(39)
        # Ben's cue came at the half (it rings on the helper's phone), his only card.
        [ben_cue] = bot.new(BEN.id)
        assert card_of(bot, BEN) is ben_cue and ben_hold.deleted
        assert bot.new(ANA.id) == []
        await bot.advance(1)
        for person in (ANA, BEN):
            [card] = bot.new(person.id)
            assert SECOND_TURN in card.text
            assert card_of(bot, person) is card
    assert ana_hold.deleted


async def test_after_a_restart_each_phone_has_one_card_and_its_buttons_work(
    settings: Settings, clock: FakeClock
) -> None:
    world = World(clock=lambda: clock.now().timestamp())
    async with running_bot(settings, clock, world) as bot:
        await into_first_hold(bot)
        await through_get_set(bot)
        await bot.advance(36)
        # Ana stretched, Ben helped: Ben's card came anew at the cue.
        ana_card, ben_card = card_of(bot, ANA), card_of(bot, BEN)
    clock.advance(5)

    async with running_bot(settings, clock, world) as bot:
        for person, card in ((ANA, ana_card), (BEN, ben_card)):
            assert card_of(bot, person) is card
            bot.new(person.id)
        assert await bot.press(BEN, ben_card, "Pause") == "Paused for both of you."
        for person, card in ((ANA, ana_card), (BEN, ben_card)):
            assert card_of(bot, person) is card
            # 36 s into the hold and 5 s down: 41 s into it.
            assert "Paused by Ben. 19 s of this hold left." in card.text
        await bot.press(ANA, ana_card, "Resume")
        for person in (ANA, BEN):
            [resumed] = bot.new(person.id)
            assert card_of(bot, person) is resumed


async def test_a_restart_inside_the_get_set_window_keeps_the_hold_and_its_cue_on_time(
    settings: Settings, clock: FakeClock
) -> None:
    world = World(clock=lambda: clock.now().timestamp())
    async with running_bot(settings, clock, world) as bot:
        ana_hold, ben_hold = await into_first_hold(bot)
    clock.advance(2)  # down halfway through the 4 s get-set

    async with running_bot(settings, clock, world) as bot:
        # Nothing was paused: the hold starts 2 s after the restart and runs its 60 s.
        assert "the hold starts 4 s after Ben's Ready" in ana_hold.text
        assert bot.new(ANA.id)[-1] == ana_hold  # no card sent again, none paused
        bot.new(BEN.id)
        await bot.advance(2)
        for card in (ana_hold, ben_hold):
            assert "<b>Hold: 60 s left</b>" in card.text
        edits = (ana_hold.edits, ben_hold.edits)
        await bot.advance(29.9)
        assert (ana_hold.edits, ben_hold.edits) == edits
        await bot.advance(0.1)  # 30 s into the hold: Child's Pose's cue at its half
        # Ana's card is edited; Ben's phone rings with the cue (he helps), his old card goes.
        assert "Hold: 30 s left" in ana_hold.text and "Now:" in ana_hold.text
        [ben_cue] = bot.new(BEN.id)
        assert "Now:" in ben_cue.text and ben_hold.deleted
        await bot.advance(29.9)
        assert bot.new(ANA.id) == []
        await bot.advance(0.1)
        for person in (ANA, BEN):
            [card] = bot.new(person.id)
            assert SECOND_TURN in card.text


async def test_a_partner_who_blocked_the_bot_pauses_the_session_and_the_other_is_told(
    bot: BotHarness,
) -> None:
    await into_first_hold(bot)
    await through_get_set(bot)
    bot.world.blocked.add(BEN.id)

    await bot.advance(60)

    ana_messages = bot.new(ANA.id)
    assert SECOND_TURN in ana_messages[0].text
    assert ana_messages[-1].text.startswith("Paused: I can't reach Ben any more")
    # The note carries Resume: it is Ana's card now, and the setup card before it went.
    assert card_of(bot, ANA) is ana_messages[-1] and ana_messages[0].deleted
    # The pause holds: no timer moves the session on while Ben is unreachable.
    await bot.advance(120)
    assert bot.new(ANA.id) == []
    async with bot.app.bot_data.db.unit() as unit:
        record = await unit.sessions.get(1)
    assert record is not None and record.phase == "paused"
