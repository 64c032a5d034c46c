"""Nothing is lost on a restart; a partner who blocks the bot pauses the session."""

from __future__ import annotations

from bot.config import Settings
from routines.engine import GET_SET
from tests.bot.session_helpers import ANA, BEN, pair_in_database, through_get_set
from tests.clock import FakeClock
from tests.fake_telegram import SentMessage, World
from tests.harness import BotHarness, running_bot


async def _into_first_hold(bot: BotHarness) -> tuple[SentMessage, SentMessage]:
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch")
    await bot.press(BEN, bot.new(BEN.id)[-1], "Join")
    for person in (ANA, BEN):
        await bot.press(person, bot.new(person.id)[-1], "Ready")
    return bot.new(ANA.id)[-1], bot.new(BEN.id)[-1]


async def test_a_hold_that_ran_out_while_the_bot_was_down_pauses_and_offers_resume(
    settings: Settings, clock: FakeClock
) -> None:
    world = World(clock=lambda: clock.now().timestamp())
    async with running_bot(settings, clock, world) as bot:
        ana_hold, ben_hold = await _into_first_hold(bot)
    clock.advance(120)

    async with running_bot(settings, clock, world) as bot:
        for card in (ana_hold, ben_hold):
            assert "Paused: I was offline for a moment." in card.text
            assert [label for label, _ in card.buttons] == ["Resume", "Stop"]
        await bot.press(BEN, ben_hold, "Resume")
        # Nothing was left of that hold, so Resume moves both on to the next step.
        for person in (ANA, BEN):
            assert "Step 3 of" in bot.inbox(person.id)[-1].text


async def test_a_hold_still_running_at_restart_ends_on_time(
    settings: Settings, clock: FakeClock
) -> None:
    world = World(clock=lambda: clock.now().timestamp())
    async with running_bot(settings, clock, world) as bot:
        ana_hold, _ = await _into_first_hold(bot)
    # Down for the get-set window and 20 s of the hold: 40 s of it are left.
    clock.advance(GET_SET.total_seconds() + 20)

    async with running_bot(settings, clock, world) as bot:
        bot.new(ANA.id)
        bot.new(BEN.id)
        await bot.advance(39)
        assert bot.new(ANA.id) == []
        await bot.advance(1)
        for person in (ANA, BEN):
            [card] = bot.new(person.id)
            assert "Step 3 of" in card.text
    assert "Paused" not in ana_hold.text


async def test_a_restart_inside_the_get_set_window_keeps_the_hold_and_its_cue_on_time(
    settings: Settings, clock: FakeClock
) -> None:
    world = World(clock=lambda: clock.now().timestamp())
    async with running_bot(settings, clock, world) as bot:
        ana_hold, ben_hold = await _into_first_hold(bot)
    clock.advance(2)  # down halfway through the 4 s get-set

    async with running_bot(settings, clock, world) as bot:
        # Nothing was paused: the hold starts 2 s after the restart and runs its 60 s.
        assert "Get set" in ana_hold.text
        assert bot.new(ANA.id)[-1] == ana_hold  # no card sent again, none paused
        bot.new(BEN.id)
        await bot.advance(31.9)
        assert (ana_hold.edits, ben_hold.edits) == (0, 0)
        await bot.advance(0.1)  # 30 s into the hold: Child's Pose's cue at its half
        assert "Hold: 30 s left" in ana_hold.text and "Now:" in ben_hold.text
        await bot.advance(29.9)
        assert bot.new(ANA.id) == []
        await bot.advance(0.1)
        for person in (ANA, BEN):
            [card] = bot.new(person.id)
            assert "Step 3 of" in card.text


async def test_a_partner_who_blocked_the_bot_pauses_the_session_and_the_other_is_told(
    bot: BotHarness,
) -> None:
    await _into_first_hold(bot)
    bot.world.blocked.add(BEN.id)

    await through_get_set(bot)
    await bot.advance(60)

    ana_messages = bot.new(ANA.id)
    assert "Step 3 of" in ana_messages[0].text
    assert ana_messages[-1].text.startswith("Paused: I can't reach Ben any more")
    # The pause holds: no timer moves the session on while Ben is unreachable.
    await bot.advance(120)
    assert bot.new(ANA.id) == []
    async with bot.app.bot_data.db.unit() as unit:
        record = await unit.sessions.get(1)
    assert record is not None and record.phase == "paused"
