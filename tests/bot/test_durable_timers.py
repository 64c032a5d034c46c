"""Session timers live in the database: any worker carries them out, none is lost.

Two real Applications, each as `python -m bot` starts it, share one PostgreSQL database
and one fake Telegram (both phones). A worker "dies" the way a killed process does: its
job queue and application stop, and nothing it would do on a clean stop happens (its
timer claims stay in the table). The clock is the test's: each worker's poller runs when
the test says its every-second poll would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from telegram.request import RequestData

from bot.app import build_application
from bot.config import Settings
from bot.services import sessions, timer_claims
from bot.session_timers import CARDS_LEASE
from bot.timer_poller import TIMER_LEASE, poller_of
from routines.engine import TimerElapsed
from routines.plan import PlanOptions
from tests.bot.session_helpers import (
    ANA,
    BEN,
    card_of,
    get_set_seconds,
    into_first_hold,
    pair_in_database,
    stop_for_both,
    through_get_set,
)
from tests.clock import FakeClock
from tests.conftest import fresh_postgres, make_settings
from tests.e2e import cards
from tests.fake_telegram import FakeBotApi, SentMessage, World
from tests.harness import BotHarness, Person, running_bot


@pytest.fixture
async def postgres_url() -> str:
    """Two workers share a PostgreSQL database: an empty one, or the test skips."""
    return await fresh_postgres()


@dataclass
class Worker:
    bot: BotHarness
    alive: bool = True

    async def die(self) -> None:
        """Stop as a killed process stops: no drain, no release of what it holds."""
        app = self.bot.app
        await app.stop()
        await app.shutdown()
        # Its connections go with the process; the rows it wrote or claimed stay.
        await app.bot_data.db.dispose()
        self.alive = False

    async def poll(self) -> int:
        """What this worker's poller does every second: carry out what is due."""
        return await poller_of(self.bot.app).poll()


class HeldEdits(FakeBotApi):
    """The fake Bot API of one worker, holding its next card edits on their way to
    Telegram until the test releases them: the test decides in which order two
    workers' edits land."""

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.to_hold = 0
        self.in_flight = 0
        self.arrived = asyncio.Event()
        self.released = asyncio.Event()
        self.answered = asyncio.Event()  # a tap was answered through this worker
        self.landed: Callable[[], None] = lambda: None

    def hold(self, edits: int) -> None:
        self.to_hold = edits

    def release(self, then: Callable[[], None] = lambda: None) -> None:
        """Let the held edits through; `then` runs once they all landed."""
        self.landed = then
        self.released.set()

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *args: Any, **kw: Any
    ) -> tuple[int, bytes]:
        if url.endswith("/answerCallbackQuery"):
            self.answered.set()
        if not self.to_hold or not url.endswith("/editMessageText"):
            return await super().do_request(url, method, request_data, *args, **kw)
        self.to_hold -= 1
        self.in_flight += 1
        if not self.to_hold:
            self.arrived.set()
        await self.released.wait()
        try:
            return await super().do_request(url, method, request_data, *args, **kw)
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self.landed()


@asynccontextmanager
async def worker(
    settings: Settings, clock: FakeClock, world: World, request: FakeBotApi | None = None
) -> AsyncIterator[Worker]:
    """A worker that may die; one that did not is stopped cleanly at the end."""
    app = build_application(settings, request=request or FakeBotApi(world), clock=clock)
    await app.initialize()
    assert app.post_init is not None and app.post_shutdown is not None
    await app.post_init(app)
    poller = poller_of(app)
    assert poller.job is not None
    poller.job.job.pause()  # the test polls on its clock, as `running_bot` does
    await app.start()
    one = Worker(BotHarness(app, world, clock))
    try:
        yield one
    finally:
        if one.alive:
            await app.stop()
            await app.post_shutdown(app)
            await app.shutdown()


@asynccontextmanager
async def two_workers(
    url: str,
    clock: FakeClock,
    first_request: Callable[[World], FakeBotApi] = FakeBotApi,
    second_request: Callable[[World], FakeBotApi] = FakeBotApi,
) -> AsyncIterator[tuple[Worker, Worker]]:
    world = World(clock=lambda: clock.now().timestamp())
    settings = make_settings(url)
    async with (
        worker(settings, clock, world, first_request(world)) as first,
        worker(settings, clock, world, second_request(world)) as second,
    ):
        yield first, second


def steps_shown(bot: BotHarness, person: Person) -> list[int]:
    """The steps of the pair's default routine `person`'s phone showed, in order, read
    from each card's first line (a hold is its setup card edited: both count)."""
    return cards.steps_of(bot.inbox(person.id), bot.app.bot_data.plan("lower-back", PlanOptions()))


async def first_hold_at(bot: BotHarness) -> datetime:
    """Ana and Ben start their routine at this worker, get ready and wait out the get-set:
    the hold's deadline."""
    await into_first_hold(bot)
    await through_get_set(bot)
    live = await sessions.load(bot.app.bot_data, 1)
    assert live is not None and live.state.deadline is not None
    return live.state.deadline


async def finish_at(bot: BotHarness) -> None:
    """Go through the rest of the session at this worker: Ready, or wait out the step."""
    for _ in range(40):
        cards = {p: bot.inbox(p.id)[-1] for p in (ANA, BEN)}
        if all("How does your back feel?" in c.text for c in cards.values()):
            return
        if "Tap Ready" in cards[ANA].text:
            for person, card in cards.items():
                await bot.press(person, card, "Ready")
        else:
            await bot.advance(60)
    raise AssertionError("the session did not finish")


async def goes_on_to_the_end(bot: BotHarness) -> None:
    """The first hold ended at this worker, without a pause; the session goes on to its
    summary there, each phone showing every step once."""
    for person in (ANA, BEN):
        assert steps_shown(bot, person) == [1, 2, 3]
        assert "Paused" not in bot.inbox(person.id)[-1].text
    await finish_at(bot)
    live = await sessions.load(bot.app.bot_data, 1)
    assert live is not None
    total = len(live.state.plan.steps)
    for person in (ANA, BEN):
        assert steps_shown(bot, person) == list(range(1, total + 1))
        summaries = [m for m in bot.inbox(person.id) if "How does your back feel?" in m.text]
        assert len(summaries) == 1


async def test_a_hold_armed_by_a_worker_that_died_ends_on_time_at_the_other_and_goes_on(
    postgres_url: str, clock: FakeClock
) -> None:
    async with two_workers(postgres_url, clock) as (first, second):
        deadline = await first_hold_at(first.bot)
        await first.die()
        # Telegram fails the next card once at the worker left: it is sent again.
        second.bot.world.fail("sendMessage", "server_error", chat_id=BEN.id)

        clock.set(deadline)
        assert await second.poll() >= 1
        assert steps_shown(second.bot, ANA) == [1, 2, 3]
        await second.bot.advance(1)

        await goes_on_to_the_end(second.bot)


async def test_two_readies_for_one_session_at_two_workers_at_once_start_one_hold(
    postgres_url: str, clock: FakeClock
) -> None:
    async with two_workers(postgres_url, clock) as (first, second):
        await pair_in_database(first.bot)
        await first.bot.say(ANA, "/stretch")
        await first.bot.press(BEN, first.bot.new(BEN.id)[-1], "Join")
        setups = {p: first.bot.new(p.id)[-1] for p in (ANA, BEN)}

        await asyncio.gather(
            first.bot.press(ANA, setups[ANA], "Ready"),
            second.bot.press(BEN, setups[BEN], "Ready"),
        )

        timers = await timer_claims.of_session(second.bot.app.bot_data, 1)
        assert [(t.lane, t.kind) for t in timers] == [
            ("cards", "cards"),
            ("step", "hold"),
            ("tick", "tick"),
        ]
        # One hold: each setup card turned into it at its start, and no other card came.
        clock.advance(get_set_seconds(first.bot))
        assert await second.poll() >= 1
        for person in (ANA, BEN):
            assert first.bot.new(person.id) == []
            assert card_of(first.bot, person) is setups[person]
            assert "<b>Hold: 60 s left</b>" in setups[person].text
        # Stop for both, asked at one worker and confirmed at both at once: one end.
        holds = {p: card_of(first.bot, p) for p in (ANA, BEN)}
        assert await first.bot.press(ANA, holds[ANA], "Stop") == "Stop for both of you?"
        assert await second.bot.press(BEN, holds[BEN], "Stop") == "Stop for both of you?"
        answers = await asyncio.gather(
            first.bot.press(ANA, holds[ANA], "Stop for both"),
            second.bot.press(BEN, holds[BEN], "Stop for both"),
        )
        assert sorted(a or "" for a in answers) == [
            "Stopped for both of you.",
            "This session has ended.",
        ]
        for person in (ANA, BEN):
            [summary] = first.bot.new(person.id)
            assert summary.text.startswith("Stopped")
        assert await timer_claims.of_session(first.bot.app.bot_data, 1) == []


def held_edits(gates: list[HeldEdits]) -> Callable[[World], FakeBotApi]:
    def held(world: World) -> HeldEdits:
        gates.append(HeldEdits(world))
        return gates[-1]

    return held


async def ready_edits_held(first: Worker, second: Worker, gate: HeldEdits) -> SetupCards:
    """Ana's Ready at the first worker, its "is ready" edits held on their way; then
    Ben's Ready at the second worker, and the get-set over: the hold's cards are due."""
    await pair_in_database(first.bot)
    await first.bot.say(ANA, "/stretch")
    await first.bot.press(BEN, first.bot.new(BEN.id)[-1], "Join")
    setups = {p: first.bot.new(p.id)[-1] for p in (ANA, BEN)}
    gate.hold(edits=2)
    ana_ready = asyncio.create_task(first.bot.press(ANA, setups[ANA], "Ready"))
    await asyncio.wait_for(gate.arrived.wait(), timeout=30)
    assert await second.bot.press(BEN, setups[BEN], "Ready") == "Get set: the hold starts in 4 s."
    first.bot.clock.advance(get_set_seconds(first.bot))
    return SetupCards(setups, ana_ready)


@dataclass
class SetupCards:
    cards: dict[Person, SentMessage]
    ana_ready: asyncio.Task[str | None]


@pytest.mark.parametrize("fault", [None, "server_error", "timeout", "dropped", "retry_after"])
async def test_a_ready_whose_edits_land_after_the_hold_began_leaves_the_hold(
    postgres_url: str, clock: FakeClock, fault: str | None
) -> None:
    """Ana's "is ready" edits are held on their way to Telegram (a worker stalled) past
    the moment the other worker, having waited for them in vain, turned both setup cards
    into the hold; then they land over it. Each phone must still end up showing the
    hold, as the same message, with nothing new; and so when Telegram fails the first
    edit that shows the hold again."""
    gates: list[HeldEdits] = []
    async with two_workers(postgres_url, clock, held_edits(gates)) as (first, second):
        [gate] = gates
        setups = await ready_edits_held(first, second, gate)
        assert await second.poll() >= 1
        for person in (ANA, BEN):
            assert "<b>Hold: 60 s left</b>" in setups.cards[person].text
        world = first.bot.world
        edits_before = len(world.calls_of("editMessageText"))

        def fail_next_edit() -> None:
            if fault is not None:
                world.fail("editMessageText", fault, chat_id=ANA.id)

        gate.release(then=fail_next_edit)
        await setups.ana_ready

        # The old "ready" text landed over the hold, and was turned back into it.
        assert len(world.calls_of("editMessageText")) > edits_before + 2
        for person, card in setups.cards.items():
            assert "You're ready." in card.history[-2] or "is ready" in card.history[-2]
            assert first.bot.new(person.id) == []
            assert card_of(first.bot, person) is card
            assert "Hold: 60 s left</b>" in card.text


async def test_the_hold_waits_for_the_other_workers_ready_edits_of_the_same_cards_to_land(
    postgres_url: str, clock: FakeClock
) -> None:
    """Ana's "is ready" edits are on their way (held) when the hold's cards come due at
    the other worker: its edits wait for hers, so each card shows the hold last, with no
    "ready" text after it, and no edit more than the two steps need."""
    gates: list[HeldEdits] = []
    async with two_workers(postgres_url, clock, held_edits(gates)) as (first, second):
        [gate] = gates
        world = first.bot.world
        setups = await ready_edits_held(first, second, gate)
        edits_before = len(world.calls_of("editMessageText"))
        live = await sessions.load(second.bot.app.bot_data, 1)
        assert live is not None

        async def claimed_for_the_hold() -> bool:
            cards = await sessions.cards(first.bot.app.bot_data, 1)
            return {card.shows for card in cards} == {live.record.revision}

        poll = asyncio.create_task(second.poll())
        # The other worker claimed the cards for the hold's edits: they wait for Ana's.
        for _ in range(2000):
            if await claimed_for_the_hold():
                break
            await asyncio.sleep(0.005)
        assert await claimed_for_the_hold()
        assert len(world.calls_of("editMessageText")) == edits_before
        gate.release()
        await asyncio.gather(setups.ana_ready, poll)

        assert len(world.calls_of("editMessageText")) == edits_before + 4
        for person, card in setups.cards.items():
            assert first.bot.new(person.id) == []
            assert card_of(first.bot, person) is card
            *before, last = card.history
            assert "<b>Hold: 60 s left</b>" in last
            assert all("Hold:" not in text for text in before)


async def test_a_timer_claimed_by_a_worker_that_died_is_taken_over_after_its_lease(
    postgres_url: str, clock: FakeClock
) -> None:
    async with two_workers(postgres_url, clock) as (first, second):
        deadline = await first_hold_at(first.bot)
        clock.set(deadline)
        # The first worker's poll claims the hold's end (and its countdown ticks, late),
        # and the worker is killed then.
        claimed = await timer_claims.claim(first.bot.app.bot_data, TIMER_LEASE, 64)
        assert (1, "step") in [(t.session_id, t.lane) for t in claimed.timers]
        await first.die()

        assert await second.poll() == 0
        clock.set(deadline + TIMER_LEASE)
        await second.poll()

        await goes_on_to_the_end(second.bot)


async def test_cards_a_dead_worker_saved_but_never_sent_are_sent_once_by_the_other(
    postgres_url: str, clock: FakeClock
) -> None:
    async with two_workers(postgres_url, clock) as (first, second):
        deadline = await first_hold_at(first.bot)
        clock.set(deadline)
        live = await sessions.load(first.bot.app.bot_data, 1)
        assert live is not None
        # The hold's end is saved at the first worker, which dies before sending its cards.
        await sessions.apply(first.bot.app.bot_data, 1, TimerElapsed(version=live.state.version))
        await first.die()

        await second.poll()
        assert all(steps_shown(second.bot, p) == [1, 2] for p in (ANA, BEN))
        clock.set(deadline + CARDS_LEASE)
        await second.poll()
        await second.poll()

        for person in (ANA, BEN):
            assert steps_shown(second.bot, person) == [1, 2, 3]
        async with second.bot.app.bot_data.db.unit() as unit:
            assert await unit.outbox.owed(1) == []


async def test_on_sqlite_a_restart_carries_out_what_the_dead_process_held_at_once(
    settings: Settings, clock: FakeClock
) -> None:
    world = World(clock=lambda: clock.now().timestamp())
    async with worker(settings, clock, world) as first:
        deadline = await first_hold_at(first.bot)
        clock.set(deadline)
        await timer_claims.claim(first.bot.app.bot_data, TIMER_LEASE, 64)
        await first.die()

    # One process on SQLite: the claim was the dead predecessor's, not a live worker's.
    async with running_bot(settings, clock, world) as bot:
        for person in (ANA, BEN):
            assert steps_shown(bot, person) == [1, 2, 3]


async def test_stop_for_both_leaves_no_timer_behind(bot: BotHarness) -> None:
    await first_hold_at(bot)
    hold = bot.inbox(ANA.id)[-1]

    await stop_for_both(bot, ANA, hold)

    assert await timer_claims.of_session(bot.app.bot_data, 1) == []


async def test_a_card_retry_outlives_the_partners_tap_before_it(bot: BotHarness) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch")
    bot.new(ANA.id)
    bot.world.fail("sendMessage", "server_error", chat_id=ANA.id)
    await bot.press(BEN, bot.new(BEN.id)[-1], "Join")
    assert bot.new(ANA.id) == []

    # Ben is ready first: a tap that owes no card leaves Ana's retry as it was.
    await bot.press(BEN, bot.new(BEN.id)[-1], "Ready")
    await bot.advance(1)

    [setup] = bot.new(ANA.id)
    assert "Tap Ready" in setup.text
    await bot.press(ANA, setup, "Ready")
    await through_get_set(bot)
    for person in (ANA, BEN):
        assert steps_shown(bot, person) == [1, 2]
