"""Benchmark: /progress for a pair with two years of daily sessions (730), and how long
the event loop stalls while charts render.

    python -m tests.bench.bench_progress [--runs 40]

For SQLite (and PostgreSQL when TEST_DATABASE_URL is set) it stores 730 daily sessions,
each rated by both partners, and prints:

- /progress handled end to end through the real Application against the fake Bot API
  (read the last 12 weeks, compute, render in the worker process, upload): p50 and p95;
- the chart rendering alone, in the measuring process: p50 and p95;
- the event loop's largest stall while /progress runs, one at a time and four at once,
  seen by a probe task that asks to wake every 5 ms; and, for contrast, the stall when
  the same chart is rendered on the loop itself.

Nothing is asserted: the bench prints numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bot.main import settle_heap
from bot.progress_chart import ChartInput, render
from bot.services import history
from storage.models import SessionRating, SessionResult, StretchSession
from tests.bench.databases import postgres_url
from tests.clock import FakeClock
from tests.conftest import make_settings, reset_postgres
from tests.harness import BotHarness, Person, running_bot

ANA, BEN = Person(101, "Ana"), Person(202, "Ben")
DAYS = 730
PROBE_EVERY = 0.005


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def two_years(bot: BotHarness, today: date) -> int:
    """Ana and Ben, partners, with one rated session on each of the last 730 days."""
    for person in (ANA, BEN):
        await bot.say(person, "/start")
    data = bot.app.bot_data
    async with data.db.unit() as unit:
        pair, _ = await unit.pairs.create(ANA.id, BEN.id, bot.clock.now())
        await unit.commit()
    first = today - timedelta(days=DAYS - 1)
    async with data.db.engine.begin() as connection:
        sessions: list[dict[str, Any]] = [
            dict(
                id=i + 1, pair_id=pair.id, routine_id="quick", seat_a_id=ANA.id,
                seat_b_id=BEN.id, origin_chat_id=ANA.id, phase="finished", live=False,
                version=9, revision=9, deadline=None, options={}, state={},
                created_at=_at(first, i), updated_at=_at(first, i),
            )
            for i in range(DAYS)
        ]  # fmt: skip
        await connection.execute(insert(StretchSession), sessions)
        await connection.execute(
            insert(SessionResult),
            [
                dict(
                    id=i + 1, session_id=i + 1, pair_id=pair.id, routine_id="quick",
                    end_reason="completed", holds_done=8, exercises_done=4,
                    seconds_stretched=240, local_date=first + timedelta(days=i),
                    ended_at=_at(first, i),
                )
                for i in range(DAYS)
            ],
        )  # fmt: skip
        await connection.execute(
            insert(SessionRating),
            [
                dict(result_id=i + 1, user_id=user, rating=1 + (i * 7 + user) % 5,
                     rated_at=_at(first, i))
                for i in range(DAYS)
                for user in (ANA.id, BEN.id)
            ],
        )  # fmt: skip
    return pair.id


def _at(first: date, i: int) -> datetime:
    day = first + timedelta(days=i)
    return datetime(day.year, day.month, day.day, 18, tzinfo=UTC)


class Collections:
    """The longest garbage collection seen while it listens: a stall the probe sees may be
    the collector's pause over the whole heap, not the chart."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.longest = max(self.longest, time.perf_counter() - self._started)

    def __enter__(self) -> Collections:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


async def largest_stall(work: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    """The longest the loop was late to wake a probe that sleeps 5 ms at a time, and the
    longest garbage collection in the same window."""
    stalls: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        while not done.is_set():
            asked = time.perf_counter()
            await asyncio.sleep(PROBE_EVERY)
            stalls.append(time.perf_counter() - asked - PROBE_EVERY)

    with Collections() as collections:
        task = asyncio.create_task(probe())
        await asyncio.sleep(PROBE_EVERY * 2)
        try:
            await work()
        finally:
            done.set()
            await task
    return max(stalls, default=0.0), collections.longest


async def bench(database_url: str, runs: int) -> dict[str, float]:
    clock = FakeClock(datetime(2026, 11, 25, 9, tzinfo=UTC))
    async with running_bot(make_settings(database_url), clock) as bot:
        settle_heap()  # as `python -m bot` does once started
        pair_id = await two_years(bot, clock.now().date())

        async def one() -> float:
            started = time.perf_counter()
            await bot.say(ANA, "/progress")
            return time.perf_counter() - started

        await one()  # warm: fonts, caches, prepared statements
        handled = [await one() for _ in range(runs)]
        assert bot.last(ANA.id).file is not None

        async def sequential() -> None:
            for _ in range(runs):
                await one()

        async def four_at_once() -> None:
            for _ in range(max(1, runs // 4)):
                await asyncio.gather(*(one() for _ in range(4)))

        async def on_the_loop() -> None:
            for _ in range(5):
                render(chart)
                await asyncio.sleep(0)

        # The stalls are measured before this process renders anything itself: charts drawn
        # here leave garbage the bot's own process never holds, and collecting it would be
        # charged to the loop.
        stall_sequential, gc_sequential = await largest_stall(sequential)
        stall_four, gc_four = await largest_stall(four_at_once)
        found = await history.progress_of(bot.app.bot_data, pair_id, ANA.id, clock.now())
        chart = ChartInput(found.progress, found.partners)
        rendered = []
        for _ in range(runs):
            started = time.perf_counter()
            render(chart)
            rendered.append(time.perf_counter() - started)
        stall_on_loop, _ = await largest_stall(on_the_loop)
        return {
            "handled_p50": statistics.median(handled),
            "handled_p95": percentile(handled, 0.95),
            "render_p50": statistics.median(rendered),
            "render_p95": percentile(rendered, 0.95),
            "stall_sequential": stall_sequential,
            "gc_sequential": gc_sequential,
            "stall_four": stall_four,
            "gc_four": gc_four,
            "stall_on_loop": stall_on_loop,
        }


ROWS = (
    ("/progress handled, p50 / p95", "handled_p50", "handled_p95"),
    ("chart rendering alone, p50 / p95", "render_p50", "render_p95"),
    ("largest loop stall, one /progress at a time", "stall_sequential", None),
    ("  longest garbage collection in that window", "gc_sequential", None),
    ("largest loop stall, four /progress at once", "stall_four", None),
    ("  longest garbage collection in that window", "gc_four", None),
    ("for contrast: largest stall rendering on the loop", "stall_on_loop", None),
)


async def run(runs: int) -> None:
    columns: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        sqlite = f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
        columns["SQLite"] = await bench(sqlite, runs)
    postgres = postgres_url()
    if postgres:
        await reset_postgres(postgres)
        columns["PostgreSQL"] = await bench(postgres, runs)
    print(f"/progress, {DAYS} daily sessions rated by both partners, {runs} runs each")
    print(f"| | {' | '.join(columns)} |")
    print(f"|---|{'---|' * len(columns)}")
    for label, first, second in ROWS:
        cells = []
        for numbers in columns.values():
            cell = f"{numbers[first] * 1000:.0f}"
            if second:
                cell += f" / {numbers[second] * 1000:.0f}"
            cells.append(cell + " ms")
        print(f"| {label} | {' | '.join(cells)} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args([])
    asyncio.run(run(args.runs))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    asyncio.run(run(parser.parse_args().runs))
