"""Benchmark: hundreds of pairs stretching at once, in-process against the fake Bot API.

Every pair is written through the repositories (as tests/bot/session_helpers.py's
`pair_in_database` does, in bulk) with a home group of its own, and each session starts
with /stretch in that group. Each partner is a task that reads its own chat and taps
what a person would: Join on the lobby card, Ready on every setup card, each after
0-20 ms so the two taps interleave; it waits through holds and stops at the summary.
Holds end by themselves: the real clock (SystemClock) and the real job queue, at
SESSION_TIME_SCALE=0.01.

Updates go through `app.update_queue`, the door `run_polling` feeds, so they are handled
as in production (up to 32 at once, as `build_application` sets). `--feed direct` calls
`process_update` from each partner's task instead.

First a few sessions run alone, one after the other: the cost of a tap with nothing else
going on. Then all sessions start at once. Each database runs in child processes of its
own, so a peak RSS is that run's alone: one run for the timings, a second one with
tracemalloc on for the traced peak (tracemalloc slows Python down several times).
Nothing here asserts on time: the bench prints numbers.

    python -m tests.bench.bench_sessions [--sessions 500] [--routine quick] [--help]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_MISSED, EVENT_JOB_SUBMITTED, JobSubmissionEvent
from sqlalchemy import func, select
from telegram import Update
from telegram.ext import AIORateLimiter

from bot.app import build_application
from bot.context import BotApplication
from routines.engine import LOBBY_IDLE_LIMIT
from routines.plan import PlanOptions, Seat, StepKind
from storage.models import SessionResult
from tests.conftest import make_settings, reset_postgres
from tests.e2e.cards import card_key, step_numbers
from tests.fake_telegram import FakeBotApi, SentMessage, World
from tests.harness import Person

REPO = Path(__file__).resolve().parents[2]
TIME_SCALE = 0.01
# lower-back is 44 steps and 105 Bot API calls per partner; 500 of them cost several
# minutes of CPU in one process. quick (16 steps) keeps a run within a few minutes.
ROUTINE = "quick"
FIRST_USER_ID = 5_000_000_000
FIRST_GROUP_ID = -1_002_000_000_000
# A partner who hears nothing for this long gives up: the session is reported, not awaited.
STALL_SECONDS = 60.0


def _rate_limiter() -> AIORateLimiter:
    # No overall and no per-group limit: the bench measures our code, not Telegram's
    # published limits (which would cap 500 sessions at 30 calls a second).
    return AIORateLimiter(overall_max_rate=0, group_max_rate=0)


# -- the fake Telegram, telling each partner when their chat gets a message ---------------
class BenchWorld(World):
    def __init__(self) -> None:
        super().__init__(clock=time.time)
        self.inboxes: dict[int, asyncio.Queue[SentMessage]] = {}
        self.hold_cards: set[tuple[int, int]] = set()
        self.refusals: Counter[str] = Counter()

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, body = super().answer(method, params)
        if status != 200:
            self.refusals[f"{method}: {str(body.get('description', status))[:48]}"] += 1
        return status, body

    def _send(self, params: dict[str, Any]) -> dict[str, Any]:
        raw = super()._send(params)
        chat_id = raw["chat"]["id"]
        if "<b>Hold:" in raw["text"]:
            self.hold_cards.add((chat_id, raw["message_id"]))
        inbox = self.inboxes.get(chat_id)
        if inbox is not None:
            inbox.put_nowait(self.messages[chat_id][-1])
        return raw


@dataclass(frozen=True)
class BenchPair:
    index: int
    first: Person
    second: Person
    home: int


@dataclass
class Probe:
    """What the bench measures while the bot runs."""

    handling: list[float] = field(default_factory=list)
    queue_wait: list[float] = field(default_factory=list)
    enqueued: dict[int, float] = field(default_factory=dict)
    query_owner: dict[str, int] = field(default_factory=dict)
    presses: Counter[str] = field(default_factory=Counter)
    logged: Counter[str] = field(default_factory=Counter)
    job_kinds: dict[str, str] = field(default_factory=dict)
    job_lateness: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    jobs_missed: int = 0

    def reset_timings(self) -> None:
        self.handling.clear()
        self.queue_wait.clear()
        self.job_lateness.clear()
        self.jobs_missed = 0


class _CountingHandler(logging.Handler):
    def __init__(self, probe: Probe) -> None:
        super().__init__(logging.WARNING)
        self.probe = probe

    def emit(self, record: logging.LogRecord) -> None:
        self.probe.logged[f"{record.levelname} {record.name}: {record.getMessage()[:120]}"] += 1


class Driver:
    """Speaks for 2 x N people at once, through the door the bot really listens at."""

    def __init__(self, app: BotApplication, world: BenchWorld, probe: Probe, direct: bool):
        self.app = app
        self.world = world
        self.probe = probe
        self.direct = direct
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(1)

    def time_callback_updates(self) -> None:
        """Wrap `process_update` (the update fetcher calls it too) to time each button."""
        original = self.app.process_update
        probe = self.probe

        async def timed(update: object) -> None:
            if not isinstance(update, Update) or update.callback_query is None:
                await original(update)
                return
            start = time.perf_counter()
            put_at = probe.enqueued.pop(update.update_id, None)
            if put_at is not None:
                probe.queue_wait.append(start - put_at)
            try:
                await original(update)
            finally:
                probe.handling.append(time.perf_counter() - start)

        self.app.process_update = timed  # type: ignore[method-assign]

    def time_jobs(self) -> None:
        """How late the job queue submits each session timer: a sign of a saturated loop."""
        job_queue = self.app.job_queue
        assert job_queue is not None
        probe = self.probe
        scheduler = job_queue.scheduler
        original = scheduler.add_job

        def add_job(*args: Any, **kwargs: Any) -> Any:
            job = original(*args, **kwargs)
            name = str(kwargs.get("name") or "")
            if name.startswith("session-"):
                probe.job_kinds[job.id] = "countdown" if name.endswith("-tick") else "timer"
            return job

        def listen(event: Any) -> None:
            if event.code == EVENT_JOB_MISSED:
                probe.jobs_missed += 1
                return
            assert isinstance(event, JobSubmissionEvent)
            kind = probe.job_kinds.pop(event.job_id, None)
            if kind is not None:
                late = datetime.now(UTC) - event.scheduled_run_times[0]
                probe.job_lateness[kind].append(late.total_seconds())

        scheduler.add_job = add_job  # type: ignore[method-assign]
        scheduler.add_listener(listen, EVENT_JOB_SUBMITTED | EVENT_JOB_MISSED)

    async def feed(self, payload: dict[str, Any]) -> None:
        update = Update.de_json({"update_id": next(self._update_ids), **payload}, self.app.bot)
        if self.direct:
            await self.app.process_update(update)
            return
        self.probe.enqueued[update.update_id] = time.perf_counter()
        await self.app.update_queue.put(update)

    async def stretch(self, pair: BenchPair, routine: str) -> None:
        chat = self.world.chats[pair.home]
        message = {
            "message_id": self.world.next_message_id(pair.home),
            "date": int(time.time()),
            "chat": chat,
            "from": pair.first.as_user(),
            "text": f"/stretch {routine}",
            "entities": [{"type": "bot_command", "offset": 0, "length": len("/stretch")}],
        }
        self.world.record_user_message(message)
        await self.feed({"message": message})

    async def press(self, person: Person, message: SentMessage, label: str) -> None:
        query_id = str(next(self._query_ids))
        self.probe.query_owner[query_id] = person.id
        self.probe.presses[label] += 1
        await self.feed(
            {
                "callback_query": message.tap(query_id, person.as_user(), message.button(label)),
            }
        )

    async def partner(self, person: Person, rng: random.Random) -> str:
        """Join, then Ready at every setup; wait through holds; stop at the summary."""
        inbox = self.world.inboxes[person.id]
        seen = "nothing"
        while True:
            try:
                message = await asyncio.wait_for(inbox.get(), STALL_SECONDS)
            except TimeoutError:
                return f"heard nothing for {STALL_SECONDS:.0f} s after: {seen}"
            labels = {label for label, _ in message.buttons}
            wanted = next((w for w in ("Join", "Got it", "Ready") if w in labels), None)
            if wanted is not None:
                # Got it: a bench person's first session shows the safety note first.
                await asyncio.sleep(rng.uniform(0.0, 0.020))
                await self.press(person, message, wanted)
            elif message.text.startswith("Well done, session complete!"):
                return "completed"
            elif message.text.startswith(("Session stopped", "This session ended")):
                return f"{message.text.split('.')[0]}, at: {seen}"
            seen = _headline(message.text)


def _headline(text: str) -> str:
    """ "Stretch 2 of 3" or the first words of a message: where a partner was."""
    first = re.sub(r"<[^>]+>", "", text.splitlines()[0])
    return " · ".join(first.split(" · ")[:1]) if first.startswith("Stretch ") else first[:40]


# -- setting up people, groups and pairs in bulk -----------------------------------------
async def make_pairs(app: BotApplication, world: BenchWorld, count: int) -> list[BenchPair]:
    """Both open the bot in private, and they are partners with their own home group."""
    pairs = [
        BenchPair(
            i,
            Person(FIRST_USER_ID + 2 * i, f"A{i}"),
            Person(FIRST_USER_ID + 2 * i + 1, f"B{i}"),
            FIRST_GROUP_ID - i,
        )
        for i in range(count)
    ]
    now = datetime.now(UTC)
    data = app.bot_data
    async with data.db.unit() as unit:
        for pair in pairs:
            for person in (pair.first, pair.second):
                await unit.users.remember(person.id, person.first_name, None, now, reachable=True)
                # They read the safety note at an earlier session: the bench times sessions.
                await unit.users.acknowledge_safety(person.id, now)
            record, _ = await unit.pairs.create(pair.first.id, pair.second.id, now)
            await unit.pairs.set_home_chat(record.id, pair.home)
        await unit.commit()
    for pair in pairs:
        for person in (pair.first, pair.second):
            world.add_private_chat(person.as_user())
            world.opened.add(person.id)
            world.inboxes[person.id] = asyncio.Queue()
        world.add_group(pair.home, f"Home {pair.index}")
    return pairs


# -- one run on one database ---------------------------------------------------------------
@dataclass
class Options:
    sessions: int
    routine: str
    scale: float
    feed: str
    seed: int
    memory: bool
    timeout: float
    solo: int


async def drive(
    driver: Driver, pairs: list[BenchPair], options: Options, rng: random.Random
) -> dict[int, str]:
    """Start every pair's session at once and let the partners play them to the end."""
    partners = {
        person.id: asyncio.create_task(driver.partner(person, random.Random(rng.random())))
        for pair in pairs
        for person in (pair.first, pair.second)
    }
    await asyncio.gather(*(driver.stretch(pair, options.routine) for pair in pairs))
    done, pending = await asyncio.wait(partners.values(), timeout=options.timeout)
    for task in pending:
        task.cancel()
    return {
        user_id: task.result() if task in done else f"still running after {options.timeout} s"
        for user_id, task in partners.items()
    }


async def run(database_url: str, options: Options) -> dict[str, Any]:
    if database_url.startswith("postgresql"):
        await reset_postgres(database_url)
    probe = Probe()
    logging.getLogger().addHandler(_CountingHandler(probe))
    world = BenchWorld()
    settings = make_settings(database_url, session_time_scale=options.scale)
    app = build_application(settings, request=FakeBotApi(world), rate_limiter=_rate_limiter())
    driver = Driver(app, world, probe, direct=options.feed == "direct")
    driver.time_callback_updates()
    driver.time_jobs()
    rng = random.Random(options.seed)
    async with app:
        # run_polling calls these around the updater; without one, the bench does.
        assert app.post_init is not None
        await app.post_init(app)
        await app.start()
        try:
            setup_started = time.perf_counter()
            everyone = await make_pairs(app, world, options.solo + options.sessions)
            setup_seconds = time.perf_counter() - setup_started
            solo, pairs = everyone[: options.solo], everyone[options.solo :]
            # A baseline: a few sessions one after the other, nothing else running. A tap
            # costs the same at any scale, so the baseline keeps to the short one.
            data = app.bot_data
            settings_of_the_run = data.settings
            data.settings = make_settings(database_url, session_time_scale=solo_scale(options))
            for pair in solo:
                await drive(driver, [pair], options, rng)
            data.settings = settings_of_the_run
            solo_handling = _percentiles(probe.handling)
            solo_completed = await _completed_in_database(app)
            probe.reset_timings()

            started, cpu_started = time.perf_counter(), time.process_time()
            outcomes = await drive(driver, pairs, options, rng)
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            await app.update_queue.join()
            completed = await _completed_in_database(app) - solo_completed
        finally:
            await app.stop()
            assert app.post_shutdown is not None
            await app.post_shutdown(app)
    plan = app.bot_data.plan(options.routine, PlanOptions())
    return {
        "database": app_dialect(database_url),
        "sessions": options.sessions,
        "solo": options.solo,
        "solo_handling": solo_handling,
        "setup_seconds": setup_seconds,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "completed_in_database": completed,
        "failures": _failures(pairs, outcomes),
        **_analyse(world, probe, pairs, outcomes, plan, options),
    }


def solo_scale(options: Options) -> float:
    return min(options.scale, TIME_SCALE)


def app_dialect(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


async def _completed_in_database(app: BotApplication) -> int:
    async with app.bot_data.db.engine.connect() as connection:
        count = await connection.scalar(
            select(func.count())
            .select_from(SessionResult)
            .where(SessionResult.end_reason == "completed")
        )
    return int(count or 0)


def _failures(pairs: list[BenchPair], outcomes: dict[int, str]) -> list[str]:
    failed = []
    for pair in pairs:
        first, second = outcomes[pair.first.id], outcomes[pair.second.id]
        if first != "completed" or second != "completed":
            failed.append(
                f"pair {pair.index}: {pair.first.first_name}: {first}; "
                f"{pair.second.first_name}: {second}"
            )
    return failed


def _analyse(
    world: BenchWorld,
    probe: Probe,
    pairs: list[BenchPair],
    outcomes: dict[int, str],
    plan: Any,
    options: Options,
) -> dict[str, Any]:
    """Read the figures out of what the fake Telegram recorded."""
    # Calls are counted for the partners whose session ran to its end, so an abandoned
    # lobby does not dilute (or inflate) the calls a whole session costs.
    finished = {user for user, outcome in outcomes.items() if outcome == "completed"}
    partners = {person.id for pair in pairs for person in (pair.first, pair.second)}
    homes = {pair.home for pair in pairs}
    per_method: Counter[str] = Counter()
    to_groups = 0
    hold_calls = 0
    # When each step first reached each phone: its new message, or the edit that turned
    # the card before into it (a hold is its setup or switch card, edited).
    first_step_at: dict[tuple[int, int], float] = {}
    numbers = {
        person.id: step_numbers(plan, seat)
        for pair in pairs
        for seat, person in zip(Seat, (pair.first, pair.second), strict=True)
    }
    sends: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for call in world.calls:
        params = call.params
        if call.method == "answerCallbackQuery":
            if probe.query_owner.get(str(params.get("callback_query_id"))) in finished:
                per_method[call.method] += 1
            continue
        chat_id = int(params["chat_id"]) if "chat_id" in params else None
        if chat_id in homes:
            to_groups += 1
        if chat_id not in partners:
            continue
        if call.method in ("sendMessage", "editMessageText"):
            text = str(params.get("text", ""))
            if call.method == "sendMessage":
                sends[chat_id].append((call.at, text))
            number = numbers[chat_id].get(card_key(text) or ("", ""))
            if number is not None:
                first_step_at.setdefault((chat_id, number), call.at)
        if chat_id not in finished:
            continue
        per_method[call.method] += 1
        hold_calls += _is_hold_card_call(world, call.method, chat_id, params)

    gaps = [
        abs(first_step_at[(pair.first.id, n)] - first_step_at[(pair.second.id, n)])
        for pair in pairs
        for n in range(1, plan.step_count + 1)
        if (pair.first.id, n) in first_step_at and (pair.second.id, n) in first_step_at
    ]
    # How late the step after a hold or switch arrives, compared with the plan: the
    # job queue's lateness plus the work of ending the step under load.
    overruns: list[float] = []
    durations: list[float] = []
    for chat_id, chat_sends in sends.items():
        if chat_id in finished:
            durations.append(chat_sends[-1][0] - chat_sends[0][0])
        reached = sorted((at, n) for (chat, n), at in first_step_at.items() if chat == chat_id)
        for (at, number), (next_at, _) in itertools.pairwise(reached):
            planned = plan.steps[number - 1]
            if planned.kind is not StepKind.SETUP:
                overruns.append(next_at - at - planned.seconds * options.scale)
    holds = sum(1 for s in plan.steps if s.kind is StepKind.HOLD) * len(finished)
    return {
        "handling": _percentiles(probe.handling),
        "queue_wait": _percentiles(probe.queue_wait),
        "button_updates": len(probe.handling),
        "timer_late": _percentiles(probe.job_lateness["timer"]),
        "countdown_late": _percentiles(probe.job_lateness["countdown"]),
        "jobs_missed": probe.jobs_missed,
        "jobs_run": sum(len(late) for late in probe.job_lateness.values()),
        "gap": _percentiles(gaps),
        "overrun": _percentiles(overruns),
        "session_seconds": _percentiles(durations),
        "ideal_session_seconds": plan.total_seconds * options.scale,
        "calls_per_partner_per_hold": sum(per_method.values()) / holds if holds else None,
        "hold_calls_per_hold": hold_calls / holds if holds else None,
        "calls_per_partner": {
            m: n / len(finished) for m, n in sorted(per_method.items()) if finished
        },
        "group_calls_per_session": to_groups / len(pairs),
        "api_calls": len(world.calls),
        "refusals": dict(world.refusals.most_common(5)),
        "logged": dict(probe.logged.most_common(5)),
        "presses": dict(probe.presses),
    }


def _is_hold_card_call(
    world: BenchWorld, method: str, chat_id: int, params: dict[str, Any]
) -> bool:
    """The hold card (its setup or switch card edited into it, or a cue's new card), or
    one of its countdown edits."""
    if method in ("sendMessage", "editMessageText"):
        return "<b>Hold:" in str(params.get("text", ""))
    return False


def _percentiles(samples: Sequence[float]) -> dict[str, float]:
    if not samples:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan"), "n": 0}
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50": statistics.median(ordered), "p99": p99, "max": ordered[-1], "n": len(ordered)}


def child(database: str, options: Options, *, traced: bool) -> dict[str, Any]:
    """One database, in this process: the run, then its peak memory."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if traced:
        tracemalloc.start()
    with tempfile.TemporaryDirectory(prefix="bench-sessions-") as folder:
        url = (
            f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
            if database == "sqlite"
            else os.environ["TEST_DATABASE_URL"]
        )
        result = asyncio.run(run(url, options))
    result["tracemalloc_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20 if traced else None
    # Linux reports ru_maxrss in KiB.
    result["rss_peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


# -- the table ---------------------------------------------------------------------------
Cell = Callable[[dict[str, Any]], str]


def _ms(key: str, part: str) -> Cell:
    return lambda r: "-" if r[key]["n"] == 0 else f"{r[key][part] * 1000:.2f}"


def _s(key: str, part: str) -> Cell:
    return lambda r: "-" if r[key]["n"] == 0 else f"{r[key][part]:.2f}"


def _f(key: str, fmt: str) -> Cell:
    return lambda r: "-" if r.get(key) is None else format(r[key], fmt)


def _memory_pass(key: str, fmt: str) -> Cell:
    return lambda r: "off" if r.get("memory") is None else format(r["memory"][key], fmt)


def _cpu_per_event(r: dict[str, Any]) -> str:
    events = r["button_updates"] + r["jobs_run"] + r["sessions"]
    return f"{r['cpu_seconds'] / events * 1000:.2f}"


ROWS: list[tuple[str, Cell]] = [
    ("one session alone: button updates handled", lambda r: str(r["solo_handling"]["n"])),
    ("one session alone: button update p50 (ms)", _ms("solo_handling", "p50")),
    ("one session alone: button update p99 (ms)", _ms("solo_handling", "p99")),
    ("all sessions at once, from here on:", lambda r: ""),
    ("sessions completed (database)", lambda r: str(r["completed_in_database"])),
    ("sessions that did not complete", lambda r: str(len(r["failures"]))),
    ("button updates handled", lambda r: str(r["button_updates"])),
    ("button update handling p50 (ms)", _ms("handling", "p50")),
    ("button update handling p99 (ms)", _ms("handling", "p99")),
    ("button update handling max (ms)", _ms("handling", "max")),
    ("button update wait in update queue p50 (ms)", _ms("queue_wait", "p50")),
    ("button update wait in update queue p99 (ms)", _ms("queue_wait", "p99")),
    ("gap between partners, same step p50 (ms)", _ms("gap", "p50")),
    ("gap between partners, same step p99 (ms)", _ms("gap", "p99")),
    ("hold/switch timer fired late p50 (ms)", _ms("timer_late", "p50")),
    ("hold/switch timer fired late p99 (ms)", _ms("timer_late", "p99")),
    ("countdown tick fired late p99 (ms)", _ms("countdown_late", "p99")),
    ("next step late after hold/switch p50 (ms)", _ms("overrun", "p50")),
    ("next step late after hold/switch p99 (ms)", _ms("overrun", "p99")),
    ("timer jobs missed by the job queue", lambda r: str(r["jobs_missed"])),
    ("Bot API calls per partner per hold, all", _f("calls_per_partner_per_hold", ".2f")),
    ("Bot API calls per hold, hold card + edits", _f("hold_calls_per_hold", ".2f")),
    ("Bot API calls to the group per session", _f("group_calls_per_session", ".2f")),
    ("session length p50 (s, completed)", _s("session_seconds", "p50")),
    ("session length p99 (s, completed)", _s("session_seconds", "p99")),
    ("hold time of one session (s, scaled)", _f("ideal_session_seconds", ".2f")),
    ("setup of users and pairs (s)", _f("setup_seconds", ".2f")),
    ("total wall time, /stretch to last summary (s)", _f("wall_seconds", ".2f")),
    ("CPU time of the process in that time (s)", _f("cpu_seconds", ".2f")),
    ("timer and countdown jobs run", lambda r: str(r["jobs_run"])),
    ("CPU time per event: update or job (ms)", _cpu_per_event),
    ("peak RSS (MiB)", _f("rss_peak_mib", ".1f")),
    ("peak traced memory (MiB, tracemalloc pass)", _memory_pass("tracemalloc_peak_mib", ".1f")),
    ("peak RSS (MiB, tracemalloc pass)", _memory_pass("rss_peak_mib", ".1f")),
    ("sessions completed (tracemalloc pass)", _memory_pass("completed_in_database", "d")),
]


def render_table(results: list[dict[str, Any]], options: Options) -> str:
    header = ["", *(r["database"] for r in results)]
    rows = [header, *([label, *(cell(r) for r in results)] for label, cell in ROWS)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    feed = (
        "through app.update_queue, as under run_polling (up to 32 updates at once); "
        "handling time includes waiting for the others in flight."
        if options.feed == "queue"
        else "process_update called concurrently from each partner's task."
    )
    lines = [
        f"Session bench: {options.sessions} concurrent sessions of {options.routine!r} "
        f"({options.sessions * 2} users), SESSION_TIME_SCALE={options.scale}, real clock "
        "(SystemClock) and job queue, fake Bot API in-process (no network).",
        "Rate limiter: AIORateLimiter(overall_max_rate=0, group_max_rate=0): no limits, so "
        "the figures are our code's, not Telegram's pacing.",
        f"Updates: {feed}",
        f"Machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}. Timings come from "
        "a run without tracemalloc; the traced peak from a second run with it (it slows "
        "Python down several times).",
        "",
    ]
    for i, row in enumerate(rows):
        values = zip(row[1:], widths[1:], strict=True)
        lines.append("  ".join([row[0].ljust(widths[0]), *(c.rjust(w) for c, w in values)]))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    for result in results:
        details = [
            ("Bot API calls per completed partner, by method", result["calls_per_partner"]),
            ("Bot API error answers (top 5)", result["refusals"]),
            ("warnings and errors logged (top 5)", result["logged"]),
        ]
        lines += ["", f"{result['database']}:"]
        for title, values in details:
            shown = ", ".join(
                f"{k} {v:.2f}" if isinstance(v, float) else f"{k} x{v}" for k, v in values.items()
            )
            lines.append(f"  {title}: {shown or 'none'}")
        failures = result["failures"]
        if failures:
            limit = LOBBY_IDLE_LIMIT.total_seconds() * options.scale
            lines.append(
                f"  {len(failures)} sessions did not complete (lobby and setup idle limits are "
                f"{limit:.0f} s at this scale). What the first partner heard last, and where:"
            )
            why = Counter(f.split(": ", 2)[-1].split(";")[0] for f in failures)
            lines += [f"    x{n}  {text}" for text, n in why.most_common(8)]
            lines += ["  for example:", *(f"    {failure}" for failure in failures[:3])]
    return "\n".join(lines)


# -- entry points --------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_sessions")
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--routine", default=ROUTINE, choices=["lower-back", "quick"])
    parser.add_argument("--scale", type=float, default=TIME_SCALE)
    parser.add_argument("--feed", default="queue", choices=["queue", "direct"])
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--no-tracemalloc", dest="memory", action="store_false", help="skip the memory pass"
    )
    parser.add_argument("--timeout", type=float, default=150.0, help="per run, seconds")
    parser.add_argument(
        "--solo", type=int, default=3, help="sessions run alone first, for a baseline"
    )
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="postgresql runs if TEST_DATABASE_URL"
    )
    parser.add_argument("--child", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser


def _run_child(database: str, args: argparse.Namespace, *, traced: bool) -> dict[str, Any] | None:
    """A fresh process per run, so its peak RSS is its own."""
    command = [
        sys.executable,
        "-m",
        "tests.bench.bench_sessions",
        f"--sessions={args.sessions}",
        f"--routine={args.routine}",
        f"--scale={args.scale}",
        f"--feed={args.feed}",
        f"--seed={args.seed}",
        f"--timeout={args.timeout}",
        f"--solo={0 if traced else args.solo}",
        f"--child={database}",
        *(["--traced"] if traced else []),
    ]
    with tempfile.TemporaryDirectory(prefix="bench-sessions-out-") as folder:
        out = Path(folder) / "result.json"
        finished = subprocess.run([*command, f"--out={out}"], cwd=REPO, check=False)
        if finished.returncode != 0 or not out.exists():
            print(f"{database}: the bench run failed (exit {finished.returncode})")
            return None
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    options = Options(
        args.sessions,
        args.routine,
        args.scale,
        args.feed,
        args.seed,
        args.memory,
        args.timeout,
        args.solo,
    )
    if args.child:
        result = child(args.child, options, traced=args.traced)
        Path(args.out).write_text(json.dumps(result))
        return 0
    databases = [d for d in args.databases.split(",") if d]
    if "postgresql" in databases and not os.environ.get("TEST_DATABASE_URL"):
        print("PostgreSQL skipped: TEST_DATABASE_URL is not set.")
        databases.remove("postgresql")
    results = []
    for database in databases:
        print(f"{database}: {args.sessions} sessions of {args.routine} ...", flush=True)
        result = _run_child(database, args, traced=False)
        if result is None:
            continue
        if args.memory:
            print(f"{database}: the same again with tracemalloc on ...", flush=True)
            result["memory"] = _run_child(database, args, traced=True)
        results.append(result)
    if results:
        print(render_table(results, options), flush=True)
    # Sessions that idled out under load are reported above, not failed on: whether they
    # finish depends on timing, and the bench asserts nothing about time.
    return 0 if len(results) == len(databases) else 1


if __name__ == "__main__":
    sys.exit(main())
