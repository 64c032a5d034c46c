"""A step's cards reach both phones even when Telegram fails to take them, or the bot stops."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.services import sessions, timer_claims
from routines.engine import TimerElapsed
from tests.bot.session_helpers import (
    ANA,
    BEN,
    SECOND_TURN,
    at_first_setup,
    card_of,
    pair_in_database,
    stop_for_both,
    through_get_set,
)
from tests.clock import FakeClock
from tests.conftest import make_settings
from tests.fake_telegram import World
from tests.harness import BotHarness, Person, running_bot

# What Telegram does to a call that does not go through: HTTP 500, no answer within
# the read timeout, or the connection closing without an answer.
FAILURES = ["server_error", "timeout", "dropped"]


def calls_to(bot: BotHarness, person: Person, method: str, since: int = 0) -> list[str]:
    """The texts of the `method` calls to `person` the bot made after call number `since`."""
    calls = bot.world.calls[since:]
    return [
        c.params.get("text", "")
        for c in calls
        if c.method == method and c.params.get("chat_id") == person.id
    ]


def _kind(text: str) -> str | None:
    if "Tap Ready" in text or "ready." in text:
        return "setup"
    if "Hold:" in text:
        return "hold"
    if "to switch." in text:
        return "switch"
    return None


def steps_shown(bot: BotHarness, person: Person) -> list[str]:
    """Every step card `person`'s phone showed, in order: each message's texts from its
    send through its edits, a step once however often it was edited (Ready, a cue)."""
    shown: list[str] = []
    for message in bot.inbox(person.id):
        kinds = [kind for kind in map(_kind, message.history) if kind is not None]
        shown += [kind for n, kind in enumerate(kinds) if n == 0 or kinds[n - 1] != kind]
    return shown


@pytest.mark.parametrize("failure", FAILURES)
async def test_a_join_card_that_fails_once_is_sent_again_and_the_session_goes_on(
    bot: BotHarness, failure: str
) -> None:
    await pair_in_database(bot)
    bot.world.fail("sendMessage", failure, chat_id=BEN.id)

    await bot.say(ANA, "/stretch")
    assert bot.new(BEN.id) == []
    bot.new(ANA.id)

    await bot.advance(1)
    [join] = bot.new(BEN.id)
    assert join.text.startswith("Ana wants to stretch now.")
    await bot.press(BEN, join, "Join")
    for person in (ANA, BEN):
        [setup] = bot.new(person.id)
        assert "Stretch 1 of" in setup.text
    await bot.advance(60)
    assert [m.text for m in bot.inbox(BEN.id)].count(join.text) == 1


@pytest.mark.parametrize("failure", FAILURES)
async def test_a_setup_card_that_fails_once_is_sent_again_and_both_get_to_the_hold(
    bot: BotHarness, failure: str
) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch")
    bot.world.fail("sendMessage", failure, chat_id=ANA.id)

    await bot.press(BEN, bot.new(BEN.id)[-1], "Join")
    assert [m.text for m in bot.new(ANA.id)] == [
        "Asked Ben to join. I'll start once they tap Join."
    ]
    [ben_setup] = bot.new(BEN.id)

    await bot.advance(1)
    [ana_setup] = bot.new(ANA.id)
    assert "Stretch 1 of" in ana_setup.text
    for person, card in ((ANA, ana_setup), (BEN, ben_setup)):
        await bot.press(person, card, "Ready")
    await through_get_set(bot)
    for person in (ANA, BEN):
        assert "<b>Hold: 60 s left</b>" in card_of(bot, person).text
        assert steps_shown(bot, person) == ["setup", "hold"]


@pytest.mark.parametrize("failure", FAILURES)
async def test_a_hold_card_that_fails_once_arrives_on_retry_and_its_countdown_follows(
    bot: BotHarness, failure: str
) -> None:
    ana_setup, ben_setup = await at_first_setup(bot)
    await bot.press(ANA, ana_setup, "Ready")
    # The hold turns each setup card into itself: it is Ben's edit that fails.
    bot.world.fail("editMessageText", failure, chat_id=BEN.id)

    await bot.press(BEN, ben_setup, "Ready")
    await through_get_set(bot)
    assert "<b>Hold: 60 s left</b>" in ana_setup.text
    assert "Hold" not in ben_setup.text

    await bot.advance(1)
    assert "<b>Hold: 59 s left</b>" in ben_setup.text
    assert card_of(bot, BEN) is ben_setup
    # The cue, 30 s into the hold.
    await bot.advance(29)
    # The late card was noted as shown, so the cue reached it like Ana's: Ben helps,
    # so his phone rings with the cue as a new card, and the edited one goes.
    [ben_cue] = bot.new(BEN.id)
    assert "Now:" in ben_cue.text and "Now:" in ana_setup.text and ben_setup.deleted
    await bot.advance(30)
    # Ben's hold showed on two cards (the edited setup card, then the cue's).
    assert steps_shown(bot, ANA) == ["setup", "hold", "setup"]
    assert steps_shown(bot, BEN) == ["setup", "hold", "hold", "setup"]
    for person in (ANA, BEN):
        assert SECOND_TURN in card_of(bot, person).text


async def test_a_card_that_keeps_failing_is_tried_with_growing_pauses_until_it_goes_through(
    bot: BotHarness,
) -> None:
    ana_setup, ben_setup = await at_first_setup(bot)
    await bot.press(ANA, ana_setup, "Ready")
    bot.world.fail("editMessageText", "server_error", chat_id=BEN.id, times=3)
    before = len(bot.world.calls)

    await bot.press(BEN, ben_setup, "Ready")
    await through_get_set(bot)  # the first try, at the hold's start, fails
    assert "Hold" not in ben_setup.text
    for waited in (1, 2):  # tries at 1 s and 3 s fail
        await bot.advance(waited)
        assert "Hold" not in ben_setup.text
    await bot.advance(3.9)
    assert "Hold" not in ben_setup.text
    await bot.advance(0.1)  # the fourth try, 4 s after the third
    # 7 s into the hold: its first try was at its start.
    assert "Hold: 53 s left" in ben_setup.text
    assert len(calls_to(bot, BEN, "editMessageText", before)) == 4
    assert bot.new(BEN.id) == []


async def test_a_card_owed_for_a_step_that_is_over_is_never_sent(bot: BotHarness) -> None:
    ana_setup, ben_setup = await at_first_setup(bot)
    await bot.press(ANA, ana_setup, "Ready")
    bot.world.fail("editMessageText", "server_error", chat_id=BEN.id)
    await bot.press(BEN, ben_setup, "Ready")
    await through_get_set(bot)

    # Before Ben's hold card is tried again, Ana skips the hold: the next turn for both.
    await bot.press(ANA, ana_setup, "Skip")
    await bot.advance(10)

    for person in (ANA, BEN):
        [setup] = bot.new(person.id)
        assert SECOND_TURN in setup.text
        assert card_of(bot, person) is setup
    assert steps_shown(bot, BEN) == ["setup", "setup"]
    assert not any("Hold:" in text for m in bot.inbox(BEN.id) for text in m.history)


async def test_a_refused_partner_is_not_tried_again_and_the_session_pauses_as_before(
    bot: BotHarness,
) -> None:
    ana_setup, ben_setup = await at_first_setup(bot)
    await bot.press(ANA, ana_setup, "Ready")
    bot.world.blocked.add(BEN.id)
    before = len(bot.world.calls)

    await bot.press(BEN, ben_setup, "Ready")
    await bot.advance(120)

    assert bot.new(ANA.id)[-1].text.startswith("Paused: I can't reach Ben any more")
    # The one refused hold card (an edit of the setup card), and nothing after it.
    assert [c.method for c in bot.world.calls[before:] if c.params.get("chat_id") == BEN.id] == [
        "editMessageText"
    ]


@pytest.mark.parametrize("failure", FAILURES)
async def test_a_summary_that_fails_once_arrives_on_retry(bot: BotHarness, failure: str) -> None:
    ana_setup, ben_setup = await at_first_setup(bot)
    # One hold done first, so the summary carries the rating buttons.
    await bot.press(ANA, ana_setup, "Ready")
    await bot.press(BEN, ben_setup, "Ready")
    await through_get_set(bot)
    await bot.advance(60)
    bot.new(BEN.id)
    ana_setup = bot.new(ANA.id)[-1]
    bot.world.fail("sendMessage", failure, chat_id=BEN.id)

    await stop_for_both(bot, ANA, ana_setup)
    [ana_summary] = bot.new(ANA.id)
    assert bot.new(BEN.id) == []

    await bot.advance(1)
    [ben_summary] = bot.new(BEN.id)
    assert ben_summary.text == ana_summary.text
    assert [label for label, _ in ben_summary.buttons] == ["1", "2", "3", "4", "5"]


async def test_a_step_saved_before_its_cards_went_out_is_shown_on_both_phones_after_a_restart(
    settings: Settings, clock: FakeClock
) -> None:
    world = World(clock=lambda: clock.now().timestamp())
    async with running_bot(settings, clock, world) as bot:
        ana_setup, ben_setup = await at_first_setup(bot)
        for person, card in ((ANA, ana_setup), (BEN, ben_setup)):
            await bot.press(person, card, "Ready")
        await through_get_set(bot)
        holds = {p: card_of(bot, p) for p in (ANA, BEN)}
        live = await sessions.load(bot.app.bot_data, 1)
        assert live is not None
        clock.advance(60)
        # The hold ran out: the next step is saved, and the process stops before it
        # sends that step's cards (SIGKILL, or a power cut, at the worst moment).
        await sessions.apply(bot.app.bot_data, 1, TimerElapsed(version=live.state.version))

    async with running_bot(settings, clock, world) as bot:
        setups = {p: bot.new(p.id)[-1] for p in (ANA, BEN)}
        for person in (ANA, BEN):
            assert steps_shown(bot, person) == ["setup", "hold", "setup"]
            assert "Tap Ready" in setups[person].text
            assert "<b>Hold: 60 s left</b>" in holds[person].text
            # The new card is the only one, and the hold card it replaced is gone.
            assert card_of(bot, person) is setups[person] and holds[person].deleted
        # The new cards' buttons work: both are ready, and the next hold starts.
        for person, card in setups.items():
            await bot.press(person, card, "Ready")
        await through_get_set(bot)
        for person in (ANA, BEN):
            assert steps_shown(bot, person)[:4] == ["setup", "hold", "setup", "hold"]
        await bot.advance(60)
        for person in (ANA, BEN):
            assert steps_shown(bot, person)[-1] == "setup"
            assert "Straddle" in card_of(bot, person).text


async def test_a_restart_sends_nothing_again_that_was_already_shown(
    settings: Settings, clock: FakeClock
) -> None:
    world = World(clock=lambda: clock.now().timestamp())
    async with running_bot(settings, clock, world) as bot:
        ana_setup, ben_setup = await at_first_setup(bot)
        await bot.press(ANA, ana_setup, "Ready")
        bot.world.fail("editMessageText", "timeout", chat_id=BEN.id)
        await bot.press(BEN, ben_setup, "Ready")
        await through_get_set(bot)
        # Ben's hold card is still owed when the process stops.
    clock.advance(1)

    async with running_bot(settings, clock, world) as bot:
        for person in (ANA, BEN):
            assert steps_shown(bot, person) == ["setup", "hold"]
            assert bot.new(person.id)[-1:] == [card_of(bot, person)]
        # 5 s after the second Ready: 4 s to get set, then 1 s of the hold.
        assert "Hold: 59 s left" in ben_setup.text and card_of(bot, BEN) is ben_setup
        assert "<b>Hold: 60 s left</b>" in ana_setup.text  # Ana's was not sent again


async def test_a_card_that_fails_again_at_start_up_is_retried_by_the_new_process(
    settings: Settings, clock: FakeClock
) -> None:
    world = World(clock=lambda: clock.now().timestamp())
    async with running_bot(settings, clock, world) as bot:
        ana_setup, ben_setup = await at_first_setup(bot)
        await bot.press(ANA, ana_setup, "Ready")
        bot.world.fail("editMessageText", "dropped", chat_id=BEN.id)
        await bot.press(BEN, ben_setup, "Ready")
        await through_get_set(bot)
    world.fail("editMessageText", "server_error", chat_id=BEN.id)

    async with running_bot(settings, clock, world) as bot:
        assert steps_shown(bot, BEN) == ["setup"]
        await bot.advance(1)
        assert steps_shown(bot, BEN) == ["setup", "hold"]
        assert steps_shown(bot, ANA) == ["setup", "hold"]


async def test_a_hold_card_that_fails_once_arrives_on_retry_on_each_database(
    database_url: str, clock: FakeClock
) -> None:
    async with running_bot(make_settings(database_url), clock) as bot:
        ana_setup, ben_setup = await at_first_setup(bot)
        await bot.press(ANA, ana_setup, "Ready")
        bot.world.fail("editMessageText", "server_error", chat_id=BEN.id)
        await bot.press(BEN, ben_setup, "Ready")
        await through_get_set(bot)
        assert steps_shown(bot, BEN) == ["setup"]

        await bot.advance(1)

        assert steps_shown(bot, BEN) == ["setup", "hold"]
        async with bot.app.bot_data.db.unit() as unit:
            assert await unit.outbox.owed(1) == []


async def test_a_slow_try_of_an_older_step_does_not_push_out_the_retry_of_a_newer_one(
    bot: BotHarness,
) -> None:
    ana_setup, ben_setup = await at_first_setup(bot)
    await bot.press(ANA, ana_setup, "Ready")
    bot.world.fail("editMessageText", "timeout", chat_id=BEN.id)
    await bot.press(BEN, ben_setup, "Ready")
    await through_get_set(bot)
    holding = await sessions.load(bot.app.bot_data, 1)
    assert holding is not None
    # Ana skips: the next setup is owed, and Ben's fails too, so its retry is set.
    bot.world.fail("sendMessage", "timeout", chat_id=BEN.id)
    await bot.press(ANA, ana_setup, "Skip")
    [newer] = [t for t in await timer_claims.of_session(bot.app.bot_data, 1) if t.lane == "cards"]
    assert newer.version > holding.state.version
    # The hold's try, slower than the skip, ends now and asks for its own retry.
    note = sessions.delivery_note(
        bot.app.bot_data, 1, holding.state.version, [], [], failed_attempt=0
    )
    assert note is not None
    await sessions.write_delivery(bot.app.bot_data, 1, note)

    cards = [t for t in await timer_claims.of_session(bot.app.bot_data, 1) if t.lane == "cards"]
    assert cards == [newer]
    await bot.advance(1)
    [setup] = bot.new(BEN.id)[-1:]
    assert SECOND_TURN in setup.text and card_of(bot, BEN) is setup
