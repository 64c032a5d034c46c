"""Profile of one event: the second partner's Ready, which starts a hold on both phones.

In-process, the real Application against the fake Bot API, the test clock (no timer runs
by itself), one pair at a time: each pair opens a session in private, the partner joins,
the first Ready is tapped, then the second Ready is measured (wall, CPU) and profiled with
cProfile. The trips to the database come from the same profile: on SQLite each call handed
to aiosqlite's connection thread is one hop, on PostgreSQL each request asyncpg writes to
its socket is one round trip.

    python -m tests.bench.profile_event [--pairs 200] [--databases sqlite,postgresql]
        [--top 25] [--loop asyncio|uvloop]

TEST_DATABASE_URL (or BENCH_DATABASE_URL) names the PostgreSQL database; it is emptied.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.bench.loops import LOOPS, run_on
from tests.bot.session_helpers import pair_in_database
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
    return total / events


async def _profile(url: str, database: str, pairs: int, top: int) -> Profiled:
    if database == "postgresql":
        await reset_postgres(url)
    profile = cProfile.Profile()
    wall: list[float] = []
    cpu: list[float] = []
    # Telegram's pace (30 a second by default) would make the measured tap wait for the
    # budget; the profile is of the bot's own work.
    settings = make_settings(url, telegram_rate_limit=1000)
    async with running_bot(settings, FakeClock()) as bot:
        for index in range(pairs):
            first = Person(FIRST_USER_ID + 2 * index, f"A{index}")
            second = Person(FIRST_USER_ID + 2 * index + 1, f"B{index}")
            await pair_in_database(bot, first, second, home=None)
            await bot.say(first, "/stretch")
            await bot.press(second, bot.new(second.id)[-1], "Join")
            setups = bot.new(first.id)[-1], bot.new(second.id)[-1]
            await bot.press(first, setups[0], "Ready")
            if index % 2:
                # Every other pair is profiled, the rest timed: the profiler's own cost
                # stays out of the times.
                profile.enable()
                await bot.press(second, setups[1], "Ready")
                profile.disable()
            else:
                started, used = time.perf_counter(), time.process_time()
                await bot.press(second, setups[1], "Ready")
                cpu.append((time.process_time() - used) * 1000)
                wall.append((time.perf_counter() - started) * 1000)
            assert "Hold:" in bot.last(second.id).text, bot.last(second.id).text
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    trips = _trips(stats, database, pairs // 2)
    stats.sort_stats("tottime").print_stats(top)
    return Profiled(database, wall, cpu, trips, out.getvalue())


def _quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--top", type=int, default=25, help="profile rows to print")
    parser.add_argument("--loop", choices=LOOPS, default="asyncio")
    args = parser.parse_args(argv)
    postgres = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for database in args.databases.split(","):
            if database == "postgresql" and not postgres:
                print("postgresql: skipped (set TEST_DATABASE_URL)")
                continue
            url = (
                postgres or ""
                if database == "postgresql"
                else (f"sqlite+aiosqlite:///{Path(folder) / 'profile.sqlite3'}")
            )
            results.append(run_on(args.loop, _profile(url, database, args.pairs, args.top)))
    for result in results:
        print(f"-- {result.database}: cProfile, top {args.top} by own time")
        print(result.report)
    print(f"event loop: {args.loop}")
    print(
        f"second Ready, {args.pairs} pairs one after the other: half timed, half profiled"
        " (trips per event from the profiled half)"
    )
    print(f"{'database':<11} {'wall p50':>9} {'wall p99':>9} {'CPU p50':>8} {'trips':>6}")
    for result in results:
        print(
            f"{result.database:<11} {_quantile(result.wall_ms, 0.5):>7.2f}ms"
            f" {_quantile(result.wall_ms, 0.99):>7.2f}ms {_quantile(result.cpu_ms, 0.5):>6.2f}ms"
            f" {result.trips:>6.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
