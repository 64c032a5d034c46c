"""Profile of one event type: by default the second partner's Ready, which arms the hold.

In-process, the real Application against the fake Bot API, the test clock (no timer runs
by itself), one session at a time (tests/bench/solo.py): the partners tap through their
sessions and the clock is moved to each timer in turn. Of the events of the type asked
for, every other one is timed (wall, CPU) and the rest run under cProfile, so the
profiler's own cost stays out of the times. The trips to the database come from the same
profile: on SQLite each call handed to aiosqlite's connection thread is one hop, on
PostgreSQL each request asyncpg writes to its socket is one round trip.

    python -m tests.bench.profile_event [--event "second Ready"] [--events 400]
        [--routine lower-back] [--databases sqlite,postgresql] [--top 25]
        [--loop asyncio|uvloop] [--sort tottime|cumulative]

Event types: first Ready, second Ready, hold start, Pause, Resume, hold end, switch end,
countdown (also written with dashes: second-ready, hold-start ...). TEST_DATABASE_URL
(or BENCH_DATABASE_URL) names the PostgreSQL database; it is emptied.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import os
import pstats
import statistics
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path

from tests.bench.databases import database_urls
from tests.bench.loops import LOOPS, run_on
from tests.bench.solo import ROUTINE, SOLO_KINDS, BenchWorld, Measure, SoloDriver
from tests.clock import FakeClock
from tests.conftest import make_settings, reset_postgres
from tests.harness import Person, running_bot

FIRST_USER_ID = 7_000_000_000

# What counts as one trip to the database: aiosqlite hands every call to its thread
# through a queue (one put a hop); asyncpg writes each request (a statement's bind and
# execute, BEGIN, COMMIT) to its socket in one go and waits for the answer, and the fake
# Bot API is in-process, so every write of a socket transport is one round trip.
_SQLITE_HOP = "<method 'put_nowait' of '_queue.SimpleQueue' objects>"
_AIOSQLITE = "aiosqlite/core.py"
_SOCKET_SEND = "<method 'send' of '_socket.socket' objects>"
_TRANSPORT = ("selector_events.py", "write")


@dataclass
class Profiled:
    database: str
    wall_ms: list[float]
    cpu_ms: list[float]
    trips: float
    report: str


def _trips(stats: pstats.Stats, database: str, events: int) -> float:
    total = 0
    entries = stats.stats  # type: ignore[attr-defined]
    for (_filename, _line, name), (_calls, _all, _own, _cum, callers) in entries.items():
        if database == "sqlite" and name == _SQLITE_HOP:
            # A coroutine counts a call at each resumption: count the hand-overs instead.
            total += sum(n for (f, _l, _n), (n, *_) in callers.items() if f.endswith(_AIOSQLITE))
        elif database == "postgresql" and name == _SOCKET_SEND:
            total += sum(
                n
                for (f, _l, caller), (n, *_) in callers.items()
                if f.endswith(_TRANSPORT[0]) and caller == _TRANSPORT[1]
            )
    return total / max(1, events)


class _Profiler:
    """Hands every other event of `kind` to cProfile and times the rest."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.profile = cProfile.Profile()
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.profiled = 0
        self._turn = itertools.count()

    async def __call__(self, kind: str, action: Awaitable[None]) -> None:
        if kind != self.kind:
            await action
        elif next(self._turn) % 2:
            self.profile.enable()
            await action
            self.profile.disable()
            self.profiled += 1
        else:
            started, used = time.perf_counter(), time.process_time()
            await action
            self.cpu.append((time.process_time() - used) * 1000)
            self.wall.append((time.perf_counter() - started) * 1000)


async def run_sessions(
    url: str, database: str, kind: str, events: int, measure: Measure, routine: str = ROUTINE
) -> None:
    """Sessions of `routine` one after the other until `events` of type `kind` were
    handed to `measure` (PostgreSQL's database emptied first)."""
    if database == "postgresql":
        await reset_postgres(url)
    people = itertools.count(FIRST_USER_ID, 2)

    def pair() -> tuple[Person, Person]:
        first = next(people)
        return Person(first, f"A{first % 100_000}"), Person(first + 1, f"B{first % 100_000}")

    clock = FakeClock()
    world = BenchWorld(clock=lambda: clock.now().timestamp())
    # Telegram's pace (30 a second by default) would make the measured event wait for the
    # budget; what is measured is the bot's own work.
    settings = make_settings(url, telegram_rate_limit=1000)
    async with running_bot(settings, clock, world) as bot:
        driver = SoloDriver(bot, pair, routine=routine, measure=measure)
        while driver.counted[kind] < events:
            before = driver.counted[kind]
            await driver.session()
            if driver.counted[kind] == before:
                raise SystemExit(f"a {routine} session has no {kind}")


async def _profile(
    url: str, database: str, kind: str, events: int, routine: str, top: int, sort: str
) -> Profiled:
    profiler = _Profiler(kind)
    await run_sessions(url, database, kind, events, profiler, routine)
    out = io.StringIO()
    stats = pstats.Stats(profiler.profile, stream=out)
    trips = _trips(stats, database, profiler.profiled)
    stats.sort_stats(sort).print_stats(top)
    return Profiled(database, profiler.wall, profiler.cpu, trips, out.getvalue())


def event_kind(name: str) -> str:
    """An event type by its name, in any case, with dashes or spaces."""
    for kind in SOLO_KINDS:
        if kind.lower() == name.replace("-", " ").lower():
            return kind
    raise argparse.ArgumentTypeError(f"not an event type: {name} (one of {', '.join(SOLO_KINDS)})")


def _quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--event", type=event_kind, default="second Ready", help="event type")
    parser.add_argument("--events", type=int, default=400, help="events of that type")
    parser.add_argument("--pairs", type=int, help="the same as --events (older name)")
    parser.add_argument("--routine", default=ROUTINE)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--top", type=int, default=25, help="profile rows to print")
    parser.add_argument("--loop", choices=LOOPS, default="asyncio")
    parser.add_argument(
        "--sort", choices=("tottime", "cumulative"), default="tottime", help="profile order"
    )
    args = parser.parse_args(argv)
    events = args.pairs or args.events
    print(f"load average at start: {_load()}", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for database, url in database_urls(args.databases, Path(folder)):
            profiled = _profile(
                url, database, args.event, events, args.routine, args.top, args.sort
            )
            results.append(run_on(args.loop, profiled))
            print(f"-- {database}: done (load {_load()})", flush=True)
    for result in results:
        order = "own time" if args.sort == "tottime" else "time with callees"
        print(f"-- {result.database}: cProfile, top {args.top} by {order}")
        print(result.report)
    print(f"event loop: {args.loop}; load average at the end: {_load()}")
    print(
        f"{args.event}, {events} of them in {args.routine} sessions one after the other:"
        " half timed, half profiled (trips per event from the profiled half)"
    )
    print(f"{'database':<11} {'wall p50':>9} {'wall p99':>9} {'CPU p50':>8} {'trips':>6}")
    for result in results:
        print(
            f"{result.database:<11} {_quantile(result.wall_ms, 0.5):>7.2f}ms"
            f" {_quantile(result.wall_ms, 0.99):>7.2f}ms {_quantile(result.cpu_ms, 0.5):>6.2f}ms"
            f" {result.trips:>6.1f}"
        )
    return 0


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    raise SystemExit(main())
