"""Benchmark: how many session events one process carries with taps answered in 50 ms.

In-process, the real Application (handlers, PTB's update queue with its 32 updates at
once, the job queue, the timer poller, the Telegram budget at TELEGRAM_RATE_LIMIT=1000 so
Telegram's 30 a second does not cap the bot) against the fake Bot API, on each database.
Four parts, printed as tables; nothing here asserts on time:

1. **Floors**: what an event cannot do without. PTB handling a tap that answers it and
   sends one message to each of two chats through the same fake; one read and one
   compare-and-set write of a session row on the database, through the same connection
   pool the bot uses.
2. **Solo latency** of each event type, one session at a time on the test clock (timers
   run when the clock is moved to their instant; tests/bench/solo.py): first Ready,
   second Ready (arms the hold, which starts after the get-set delay), hold start (the
   timer that turns both setup cards into the hold card), Pause, Resume, hold end,
   switch end and countdown, wall and CPU per event, at least `--samples` each.
3. **Capacity**: `lower-back` sessions start at a steady rate on the wall clock (holds
   scaled by `--scale`); both partners tap Join and Ready after a human-ish pause, one
   partner pauses and resumes once in every session. After `--warmup` seconds the taps
   of the next `--window` seconds are measured: a tap's time runs from the moment it is
   put on the update queue to the fake Bot API receiving its answer. A rate passes when
   tap p99 ≤ 50 ms, nothing was logged at WARNING or above, the fake refused nothing and
   every session started finished complete. The search goes up by `--factor` from
   `--start` events/s until a rate fails (down while they fail), tries once between the
   highest that passed and the lowest that failed above it, and reports both, and why.
4. The **headline**: events/s at the highest rate passed, as concurrent sessions of
   people at their real pace, and CPU per event there; our second Ready against the
   floors.

An event is what the bot handles for a session: an update (the /stretch and every tap)
or a session timer it claims in any lane (hold starts, hold and switch ends, countdown
ticks, idle limits, card retries); it counts them itself
(`pairstretch_updates_handled_total`, `pairstretch_session_timer_lateness_seconds_count`).

    python -m tests.bench.bench_capacity [--quick] [--databases sqlite,postgresql]
        [--window 60] [--start 100] [--samples 500] [--steps 5] [--loop asyncio|uvloop]

`--steps 0` measures the floors and the solo latency only. `--quick` is a check that
everything runs (about two minutes on each database); the full run takes 7 to 9 minutes
a database. PostgreSQL needs BENCH_DATABASE_URL or TEST_DATABASE_URL (emptied first).
The machine's load average is printed at the start and end of each part and rate: on
2 cores, a figure measured while other work keeps it above 2 is not a capacity.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import math
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes

from bot.context import BotApplication
from routines.plan import PlanOptions
from storage.records import SessionChange, SessionRecord
from storage.session_steps import StepWrite
from tests.bench.databases import database_urls
from tests.bench.loops import LOOPS, run_on
from tests.bench.solo import (
    COMPLETE,
    HOLD_START,
    ROUTINE,
    SECOND_READY,
    BenchWorld,
    Samples,
    SoloDriver,
    card_with,
    events_handled,
    lobby_session,
    ms,
    quantile,
)
from tests.clock import FakeClock, RunningClock
from tests.conftest import TEST_TOKEN, make_settings, reset_postgres
from tests.fake_telegram import FakeBotApi, SentMessage, World
from tests.harness import BotHarness, Person, running_bot, tap

FIRST_USER_ID = 8_000_000_000
TAP_TARGET_MS = 50.0
# A partner who hears nothing for this long has been left behind: the session failed.
STALL_SECONDS = 60.0
# Telegram's published pace would cap everything at 30 messages a second; the budget's
# highest setting keeps it in the path without making it the limit.
RATE_LIMIT = 1000


# -- the fake Telegram, telling each partner what their chat got ------------------------
class CapacityWorld(BenchWorld):
    def __init__(self) -> None:
        super().__init__(clock=time.time)
        self.inboxes: dict[int, asyncio.Queue[SentMessage]] = {}
        self.answered: dict[str, float] = {}
        self.refusals: Counter[str] = Counter()

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, body = super().answer(method, params)
        if method == "answerCallbackQuery":
            self.answered[str(params["callback_query_id"])] = time.perf_counter()
        # "Not modified" is the answer the bot expects when two edits meet (it costs nothing).
        if status != 200 and "not modified" not in str(body.get("description")):
            self.refusals[f"{method}: {str(body.get('description', status))[:60]}"] += 1
        return status, body

    def _send(self, params: dict[str, Any]) -> dict[str, Any]:
        raw = super()._send(params)
        inbox = self.inboxes.get(raw["chat"]["id"])
        if inbox is not None:
            inbox.put_nowait(self.messages[raw["chat"]["id"]][-1])
        return raw


class _Warnings(logging.Handler):
    """Whatever the bot logs at WARNING or above is an error of the run."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.seen[f"{record.name}: {record.getMessage()[:200]}"] += 1


# -- people ---------------------------------------------------------------------------------
_people = itertools.count(FIRST_USER_ID, 2)


def _new_pair() -> tuple[Person, Person]:
    first = next(_people)
    return Person(first, f"A{first % 100_000}"), Person(first + 1, f"B{first % 100_000}")


async def _pairs_in_database(
    app: BotApplication, world: CapacityWorld, count: int
) -> list[tuple[Person, Person]]:
    """Partners who opened the bot and read the safety note before, written in bulk."""
    pairs = [_new_pair() for _ in range(count)]
    now = datetime.now(UTC)
    async with app.bot_data.db.unit() as unit:
        for pair in pairs:
            for person in pair:
                await unit.users.remember(person.id, person.first_name, None, now, reachable=True)
                await unit.users.acknowledge_safety(person.id, now)
            await unit.pairs.create(pair[0].id, pair[1].id, now)
        await unit.commit()
    for pair in pairs:
        for person in pair:
            world.add_private_chat(person.as_user())
            world.opened.add(person.id)
            world.inboxes[person.id] = asyncio.Queue()
    return pairs


# -- 1. floors ------------------------------------------------------------------------------
async def ptb_floor(
    samples: int, tapped: dict[str, Any] | None = None, sent: Sequence[dict[str, Any]] = ()
) -> Samples:
    """PTB reads a tap's update, answers it and sends a message to each of two chats,
    nothing else.

    With `tapped` and `sent` (a setup card a second Ready tapped and the two hold cards
    its hold start showed, as the fake sent them) the floor is the same work on the same
    messages as the bot's: the update read from its JSON (as the bot's are, timed) and two
    cards of the hold's text and buttons. Without them, as the floor was first defined: a
    one-word card tapped, two one-word sends, the update read before the clock starts.
    """
    world = World(clock=time.time)
    first, second = _new_pair()
    chats = [world.add_private_chat(person.as_user())["id"] for person in (first, second)]
    world.opened.update(chats)
    cards: list[tuple[str, InlineKeyboardMarkup | None]] = [
        (card["text"], InlineKeyboardMarkup.de_json(card["reply_markup"], None)) for card in sent
    ] or [("<b>Hold</b>", None)] * 2

    async def answer_and_send(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("Ready.")
        await asyncio.gather(
            *(
                update.get_bot().send_message(chat, text, parse_mode="HTML", reply_markup=keys)
                for chat, (text, keys) in zip(chats, cards, strict=True)
            )
        )

    fake = FakeBotApi(world)
    app = ApplicationBuilder().token(TEST_TOKEN).request(fake).get_updates_request(fake)
    application = app.updater(None).build()
    application.add_handler(CallbackQueryHandler(answer_and_send))
    measured = Samples()

    async def read_and_handle(payload: dict[str, Any]) -> None:
        await application.process_update(Update.de_json(payload, application.bot))

    async with application:
        await application.bot.send_message(chats[0], "card")
        message = world.messages[chats[0]][-1]
        for index in range(samples):
            payload = {"update_id": index + 1, **tap(str(index), first, message, "r")}
            if tapped:
                payload["callback_query"]["message"] = tapped
                await measured.time(read_and_handle(payload))
            else:
                update = Update.de_json(payload, application.bot)
                await measured.time(application.process_update(update))
    return measured


async def database_floor(harness: BotHarness, record: SessionRecord, samples: int) -> Samples:
    """One read and one compare-and-set write of a session row, through the bot's pool."""
    steps = harness.app.bot_data.db.steps
    measured = Samples()

    def same(row: SessionRecord) -> StepWrite:
        return StepWrite(SessionChange(row.phase, row.live, row.version, row.deadline, row.state))

    for _ in range(samples):
        outcome = await measured.time(steps.step(record.id, same, datetime.now(UTC)))
        assert outcome.saved
    return measured


# -- 2. solo latency: tests/bench/solo.py ------------------------------------------------


# -- 3. capacity ----------------------------------------------------------------------------
@dataclass
class RateResult:
    events_per_second: float  # asked for
    measured: float  # events/s the bot handled in the window
    sessions_started: int
    taps: int
    tap_p50_ms: float
    tap_p99_ms: float
    cpu_per_event_ms: float
    failed_sessions: Counter[str]
    warnings: Counter[str]
    refusals: Counter[str]
    concurrent: float  # sessions running at once, on average over the window
    load: str  # the 1-minute load average at the rate's start -> its end

    @property
    def passed(self) -> bool:
        return (
            self.tap_p99_ms <= TAP_TARGET_MS
            and not self.failed_sessions
            and not self.warnings
            and not self.refusals
        )

    def why(self) -> str:
        reasons = []
        if self.tap_p99_ms > TAP_TARGET_MS:
            reasons.append(f"tap p99 {self.tap_p99_ms:.1f} ms")
        if self.failed_sessions:
            reasons.append(f"{sum(self.failed_sessions.values())} sessions did not complete")
        if self.warnings:
            reasons.append(f"{sum(self.warnings.values())} warnings logged")
        if self.refusals:
            reasons.append(f"{sum(self.refusals.values())} calls refused")
        return ", ".join(reasons) or "passed"


class Crowd:
    """Partners on the wall clock, tapping through the bot's real update queue."""

    def __init__(self, harness: BotHarness, world: CapacityWorld, rng: random.Random) -> None:
        self.app = harness.app
        self.world = world
        self.rng = rng
        self.fed: dict[str, float] = {}
        self._updates = itertools.count(10_000_000)
        self._queries = itertools.count(1)

    async def feed(self, payload: dict[str, Any]) -> None:
        update = Update.de_json({"update_id": next(self._updates), **payload}, self.app.bot)
        await self.app.update_queue.put(update)

    async def press(self, person: Person, message: SentMessage, label: str) -> None:
        query_id = f"q{next(self._queries)}"
        self.fed[query_id] = time.perf_counter()
        await self.feed(tap(query_id, person, message, message.button(label)))

    async def think(self) -> None:
        # People tap a moment after the card arrives, not in the same millisecond.
        await asyncio.sleep(self.rng.uniform(0.05, 0.3))

    async def session(self, first: Person, second: Person, pause_at: int) -> str:
        chat = self.world.chats[first.id]
        message = {
            "message_id": self.world.next_message_id(first.id),
            "date": int(time.time()),
            "chat": chat,
            "from": first.as_user(),
            "text": f"/stretch {ROUTINE}",
            "entities": [{"type": "bot_command", "offset": 0, "length": len("/stretch")}],
        }
        self.world.record_user_message(message)
        await self.feed({"message": message})
        outcomes = await asyncio.gather(
            self.partner(first, pause_at), self.partner(second, pause_at=-1)
        )
        return outcomes[0] if outcomes[0] != "completed" else outcomes[1]

    async def partner(self, person: Person, pause_at: int) -> str:
        """Join, Ready at every setup, one Pause and Resume; stop at the summary."""
        inbox = self.world.inboxes[person.id]
        readies = 0
        while True:
            try:
                message = await asyncio.wait_for(inbox.get(), STALL_SECONDS)
            except TimeoutError:
                return f"heard nothing for {STALL_SECONDS:.0f} s"
            labels = {label for label, _ in message.buttons}
            if "Join" in labels or "Ready" in labels:
                await self.think()
                await self.press(person, message, "Join" if "Join" in labels else "Ready")
                if "Ready" in labels:
                    readies += 1
                    if readies == pause_at:
                        await self.pause_and_resume(person)
            elif message.text.startswith(COMPLETE):
                return "completed"
            elif message.text.startswith(("Session stopped", "This session ended")):
                return message.text.split(".")[0]

    async def pause_and_resume(self, person: Person) -> None:
        for label in ("Pause", "Resume"):
            for _ in range(100):
                card = card_with(self.world, person.id, label)
                if card is not None:
                    await self.think()
                    await self.press(person, card, label)
                    break
                await asyncio.sleep(0.02)


@dataclass(frozen=True)
class Pace:
    events_per_session: float
    seconds_per_session: float  # at the bench's pace (holds scaled, people quick)
    real_seconds_per_session: float  # at people's pace, holds as written


async def calibrate(harness: BotHarness, world: CapacityWorld, rng: random.Random) -> Pace:
    """One session alone at the bench's pace: how many events it makes, how long it takes."""
    crowd = Crowd(harness, world, rng)
    [(first, second)] = await _pairs_in_database(harness.app, world, 1)
    before, started = events_handled(harness.app), time.perf_counter()
    outcome = await crowd.session(first, second, pause_at=3)
    took = time.perf_counter() - started
    await asyncio.sleep(0.5)  # the summary's own timers and tidying
    assert outcome == "completed", outcome
    plan = harness.app.bot_data.plan(ROUTINE, PlanOptions())
    return Pace(events_handled(harness.app) - before, took, plan.estimated_seconds)


async def run_rate(
    harness: BotHarness,
    world: CapacityWorld,
    warnings: _Warnings,
    pace: Pace,
    events_per_second: float,
    warmup: float,
    window: float,
    rng: random.Random,
) -> RateResult:
    crowd = Crowd(harness, world, rng)
    per_second = events_per_second / pace.events_per_session  # sessions started a second
    count = int(per_second * (warmup + window)) + 1
    pairs = await _pairs_in_database(harness.app, world, count)
    warnings.seen.clear()
    world.refusals.clear()
    world.answered.clear()
    load_at_start = os.getloadavg()[0]
    tasks: list[asyncio.Task[str]] = []
    loop_start = time.perf_counter()
    window_start, window_end = loop_start + warmup, loop_start + warmup + window
    counted: dict[str, float] = {}
    running: list[int] = []
    for index, (first, second) in enumerate(pairs):
        due = loop_start + index / per_second
        now = time.perf_counter()
        if due > now:
            await asyncio.sleep(due - now)
        if time.perf_counter() >= window_start and "events" not in counted:
            counted["events"], counted["cpu"] = events_handled(harness.app), time.process_time()
            counted["at"] = time.perf_counter()
        pause_at = rng.randint(1, 8)
        tasks.append(asyncio.create_task(crowd.session(first, second, pause_at)))
        if window_start <= time.perf_counter() <= window_end:
            running.append(sum(1 for task in tasks if not task.done()))
    rest = window_end - time.perf_counter()
    if rest > 0:
        await asyncio.sleep(rest)
    events = events_handled(harness.app) - counted.get("events", 0.0)
    cpu = time.process_time() - counted.get("cpu", time.process_time())
    measured_for = window_end - counted.get("at", window_start)
    outcomes = await asyncio.gather(*tasks)
    failed = Counter(outcome for outcome in outcomes if outcome != "completed")
    taps = [
        world.answered[query] - fed
        for query, fed in crowd.fed.items()
        if window_start <= fed <= window_end and query in world.answered
    ]
    unanswered = sum(
        1
        for query, fed in crowd.fed.items()
        if window_start <= fed and query not in world.answered
    )
    if unanswered:
        failed[f"taps never answered: {unanswered}"] += 1
    return RateResult(
        events_per_second,
        events / measured_for,
        len(pairs),
        len(taps),
        ms(quantile(taps, 0.5)),
        ms(quantile(taps, 0.99)),
        ms(cpu / events) if events else float("nan"),
        failed,
        Counter(warnings.seen),
        Counter(world.refusals),
        statistics.fmean(running) if running else 0.0,
        f"{load_at_start:.2f} -> {os.getloadavg()[0]:.2f}",
    )


# -- one database ---------------------------------------------------------------------------
@dataclass
class Options:
    quick: bool
    samples: int
    scale: float
    warmup: float
    window: float
    start: float
    factor: float
    steps: int
    seed: int


@dataclass
class DatabaseReport:
    name: str
    ptb: Samples  # the PTB floor on the bot's own messages (see `ptb_floor`)
    floor: Samples
    solo: dict[str, Samples]
    solo_events: list[float]  # events the bot counted for each whole solo session
    solo_load: tuple[str, str]  # the machine's load average at the solo part's start, end
    pace: Pace | None  # None when no capacity was measured (--steps 0)
    rates: list[RateResult]


async def solo_part(url: str, options: Options) -> tuple[SoloDriver, Samples]:
    clock = FakeClock()
    world = BenchWorld(clock=lambda: clock.now().timestamp())
    settings = make_settings(url, telegram_rate_limit=RATE_LIMIT)
    async with running_bot(settings, clock, world) as harness:
        driver = SoloDriver(harness, _new_pair)
        sessions_run = 0
        while not driver.enough(options.samples):
            await driver.session()
            sessions_run += 1
            if sessions_run % 5 == 0:
                print(f"   {sessions_run} solo sessions, {driver.progress()}", flush=True)
        first, second = _new_pair()
        record = (await lobby_session(harness, first, second, ROUTINE)).record
        floor = await database_floor(harness, record, options.samples)
    return driver, floor


async def capacity_part(url: str, options: Options) -> tuple[Pace, list[RateResult]]:
    world = CapacityWorld()
    warnings = _Warnings()
    logging.getLogger().addHandler(warnings)
    rng = random.Random(options.seed)
    settings = make_settings(
        url,
        telegram_rate_limit=RATE_LIMIT,
        session_time_scale=options.scale,
        # One worker wakes at each instant it armed itself; the poll only finds timers
        # another worker armed. Scaled down with the holds it would run every 50 ms and
        # APScheduler would warn of runs skipped while three still wait for the database:
        # half a second, as at people's pace the default second is.
        timer_poll_seconds=min(60.0, 0.5 / options.scale),
    )
    results: list[RateResult] = []
    try:
        async with running_bot(settings, RunningClock(), world) as harness:
            pace = await calibrate(harness, world, rng)
            rate: float | None = options.start
            for _ in range(options.steps):
                assert rate is not None
                result = await run_rate(
                    harness, world, warnings, pace, rate, options.warmup, options.window, rng
                )
                results.append(result)
                print(
                    f"   {rate:7.1f} events/s asked: {result.measured:7.1f} handled,"
                    f" tap p50 / p99 {result.tap_p50_ms:.1f} / {result.tap_p99_ms:.1f} ms:"
                    f" {result.why()}",
                    flush=True,
                )
                rate = next_rate(results, options.factor)
                if rate is None:
                    break
    finally:
        logging.getLogger().removeHandler(warnings)
    return pace, results


def next_rate(results: list[RateResult], factor: float) -> float | None:
    """Up by `factor` while rates pass (down while they fail); once a passing rate and a
    failing one above it are known, one try between them (their geometric mean)."""
    passed = [r.events_per_second for r in results if r.passed]
    failed = [r.events_per_second for r in results if not r.passed]
    if not failed:
        return max(passed) * factor
    if not passed:
        return min(failed) / factor
    low = max(passed)
    above = [rate for rate in failed if rate > low]
    if not above:
        return None  # a rate failed below one that passed: the machine's noise, stop
    high = min(above)
    if high / low <= factor**0.5 * 1.01:
        return None  # already tried between them
    return math.sqrt(low * high)


def load() -> str:
    """The machine's load average over 1, 5 and 15 minutes, for beside a figure: on 2
    cores a figure measured at a load above 2 is the machine's, not the bot's."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


async def measure(name: str, url: str, options: Options) -> DatabaseReport:
    if name == "postgresql":
        await reset_postgres(url)
    started = time.perf_counter()
    at_start = load()
    print(f"-- {name}: solo latency and the database floor (load {at_start})", flush=True)
    driver, floor = await solo_part(url, options)
    assert driver.tapped and len(driver.hold_cards) == 2, "a second Ready and its hold start"
    ptb = await ptb_floor(options.samples, driver.tapped, driver.hold_cards)
    solo_load = (at_start, load())
    pace: Pace | None = None
    rates: list[RateResult] = []
    if options.steps > 0:
        if name == "postgresql":
            await reset_postgres(url)
        print(
            f"-- {name}: capacity search ({time.perf_counter() - started:.0f} s so far,"
            f" load {load()})",
            flush=True,
        )
        pace, rates = await capacity_part(url, options)
    print(f"-- {name}: done in {time.perf_counter() - started:.0f} s (load {load()})", flush=True)
    return DatabaseReport(
        name, ptb, floor, driver.samples, driver.events_per_session, solo_load, pace, rates
    )


# -- the report -----------------------------------------------------------------------------
def report(ptb: Samples, results: list[DatabaseReport], options: Options) -> None:
    print()
    print(f"{'floors and solo latency':<34} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms':>8}")
    print(ptb.row("floor: PTB + two bare sends"))
    for result in results:
        print(result.ptb.row(f"floor: PTB + our cards, {result.name}"))
        print(result.floor.row(f"floor: read + CAS write, {result.name}"))
    for result in results:
        for kind, samples in result.solo.items():
            if samples.wall:
                print(samples.row(f"{result.name}: {kind}"))
    print()
    for result in results:
        print(
            f"{result.name}: solo part at load average {result.solo_load[0]} (start)"
            f" -> {result.solo_load[1]} (end);"
            f" {len(result.solo_events)} {ROUTINE} sessions of"
            f" {', '.join(f'{n:.0f}' for n in sorted(set(result.solo_events)))} events each"
        )
    for result in results:
        second = result.solo[SECOND_READY]
        # The second Ready answers and arms the hold; the cards change on both phones at
        # the hold's start, after the get-set delay: together they are what the floor
        # stands for (a tap answered, two messages, a read and a compare-and-set).
        start = result.solo[HOLD_START]
        both_wall = quantile(second.wall, 0.5) + quantile(start.wall, 0.5)
        both_cpu = statistics.fmean(second.cpu) + statistics.fmean(start.cpu)
        for floor_name, ptb_part in (("+ our cards", result.ptb), ("+ bare sends", ptb)):
            floor_wall = quantile(ptb_part.wall, 0.5) + quantile(result.floor.wall, 0.5)
            floor_cpu = statistics.fmean(ptb_part.cpu) + statistics.fmean(result.floor.cpu)
            for name, wall, cpu in (
                ("second Ready", quantile(second.wall, 0.5), statistics.fmean(second.cpu)),
                ("second Ready + hold start", both_wall, both_cpu),
            ):
                print(
                    f"{result.name}: {name} against the floor (PTB {floor_name} + database):"
                    f" wall p50 {ms(wall):.2f} / {ms(floor_wall):.2f} ms"
                    f" = {wall / floor_wall:.2f}x,"
                    f" CPU {ms(cpu):.2f} / {ms(floor_cpu):.2f} ms = {cpu / floor_cpu:.2f}x"
                )
    if not any(result.rates for result in results):
        print()
        print("capacity: not measured (--steps 0)")
        return
    print()
    print(
        f"capacity: {ROUTINE} at SESSION_TIME_SCALE={options.scale}, {options.window:.0f} s"
        f" window after {options.warmup:.0f} s, tap p99 target {TAP_TARGET_MS:.0f} ms"
    )
    header = (
        f"{'database':<11} {'asked/s':>8} {'events/s':>9} {'sessions':>9} {'at once':>8}"
        f" {'taps':>6} {'p50 ms':>7} {'p99 ms':>7} {'CPU/ev ms':>9}  {'load start -> end':<17}"
        "  verdict"
    )
    print(header)
    for result in results:
        for rate in result.rates:
            print(
                f"{result.name:<11} {rate.events_per_second:>8.1f} {rate.measured:>9.1f}"
                f" {rate.sessions_started:>9} {rate.concurrent:>8.1f} {rate.taps:>6}"
                f" {rate.tap_p50_ms:>7.1f} {rate.tap_p99_ms:>7.1f}"
                f" {rate.cpu_per_event_ms:>9.2f}  {rate.load:<17}  {rate.why()}"
            )
            for text, count in (rate.failed_sessions + rate.warnings + rate.refusals).most_common(
                3
            ):
                print(f"{'':<11}   {count} x {text}")
    print()
    for result in results:
        pace = result.pace
        if pace is None:
            continue
        print(
            f"{result.name}: one {ROUTINE} session alone at the bench's pace:"
            f" {pace.events_per_session:.0f} events in {pace.seconds_per_session:.1f} s;"
            f" at people's pace (holds as written, the setup allowance) it lasts"
            f" {pace.real_seconds_per_session / 60:.1f} min"
        )
    print()
    print("headline (events/s per process at tap p99 <= 50 ms, zero errors, zero abandoned):")
    for result in results:
        pace = result.pace
        if pace is None:
            continue
        passed = [rate for rate in result.rates if rate.passed]
        failed = [rate for rate in result.rates if not rate.passed]
        per_real_second = pace.events_per_session / pace.real_seconds_per_session
        best: RateResult | None = None
        if passed:
            best = max(passed, key=lambda rate: rate.measured)
            print(
                f"  {result.name}: {best.measured:.1f} events/s"
                f" = {best.measured / per_real_second:.0f} concurrent sessions at people's pace"
                f" ({pace.events_per_session:.0f} events a session over"
                f" {pace.real_seconds_per_session / 60:.1f} min), CPU {best.cpu_per_event_ms:.2f}"
                f" ms an event, load average {best.load}"
            )
        else:
            print(f"  {result.name}: no rate passed")
        above = [
            rate
            for rate in failed
            if best is None or rate.events_per_second > best.events_per_second
        ]
        if above:
            first = min(above, key=lambda rate: rate.events_per_second)
            print(
                f"  {result.name}: first failing: {first.measured:.1f} events/s ({first.why()}),"
                f" load average {first.load}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short check run (~2 min)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--samples", type=int, help="solo samples per event type (500)")
    parser.add_argument("--scale", type=float, default=0.02, help="SESSION_TIME_SCALE")
    parser.add_argument("--warmup", type=float, help="seconds before the window (22)")
    parser.add_argument("--window", type=float, help="seconds measured at each rate (60)")
    parser.add_argument("--start", type=float, default=100.0, help="first rate, events/s")
    parser.add_argument("--factor", type=float, default=2.0, help="step between rates")
    parser.add_argument("--steps", type=int, help="most rates tried (5; 0: floors, solo only)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--loop", choices=LOOPS, default="asyncio")
    args = parser.parse_args(argv)
    options = Options(
        quick=args.quick,
        samples=args.samples or (30 if args.quick else 500),
        scale=args.scale,
        warmup=args.warmup or (8.0 if args.quick else 22.0),
        window=args.window or (12.0 if args.quick else 60.0),
        start=args.start,
        factor=args.factor,
        steps=args.steps if args.steps is not None else (2 if args.quick else 5),
        seed=args.seed,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    print(f"event loop: {args.loop}; load average at start: {load()}", flush=True)
    ptb = run_on(args.loop, ptb_floor(options.samples))
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for name, url in database_urls(args.databases, Path(folder)):
            results.append(run_on(args.loop, measure(name, url, options)))
    report(ptb, results, options)
    print(f"load average at the end: {load()}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
