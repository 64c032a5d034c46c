"""Benchmark: how late a hold ends, with session timers in the database.

Sessions are started through the sessions service and the session flow (as a tap
would, minus the handler), each into its first hold, so their holds' ends are rows in
the timers table. The real job queue and the real clock do the rest: each worker's one
poller job wakes at the next due instant it knows of, or after its poll interval.
Lateness is what the phones see: when the next step's card reached the fake Bot API,
minus the hold's deadline (the claim, the engine, the save and the send).

- one worker: the worker that armed the holds ends them (it woke for them);
- takeover (PostgreSQL, with TEST_DATABASE_URL): the worker that armed the holds dies
  (stops without releasing anything); the other finds them by its every-second poll.

Nothing here asserts on time: it prints numbers.

    python -m tests.bench.bench_timers [--sessions 200] [--help]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from telegram.ext import AIORateLimiter

from bot.app import build_application
from bot.config import Settings
from bot.context import BotApplication
from bot.services import sessions
from bot.session_flow import SessionFlow
from routines.engine import Join, Ready
from tests.bench.databases import postgres_url
from tests.conftest import make_settings, reset_postgres
from tests.fake_telegram import FakeBotApi, World

# The quick routine's first hold (60 s) lasts 30 s: every session is in its hold before
# the first hold ends, so the ends are measured on a worker doing nothing else.
TIME_SCALE = 0.5
# With TIME_SCALE 0.5 this is a one-second poll, as in production (1 s at scale 1).
POLL_SECONDS = 2.0
FIRST_USER_ID = 6_000_000_000
# Step 3 of quick: the first stretch's second turn, whose setup says who is stretched now.
STEP_3 = re.compile(r"^Stretch 1 of .* stretched\.</b>", re.S)


def _rate_limiter() -> AIORateLimiter:
    # No overall limit: the bench measures our code, not Telegram's 30 messages a second.
    return AIORateLimiter(overall_max_rate=0, group_max_rate=0)


@asynccontextmanager
async def _worker(settings: Settings, world: World) -> AsyncIterator[BotApplication]:
    app = build_application(settings, request=FakeBotApi(world), rate_limiter=_rate_limiter())
    await app.initialize()
    assert app.post_init is not None and app.post_shutdown is not None
    await app.post_init(app)
    await app.start()
    try:
        yield app
    finally:
        if app.running:
            await app.stop()
            await app.post_shutdown(app)
            await app.shutdown()


async def _die(app: BotApplication) -> None:
    """A killed worker: its job queue stops; nothing is released or drained."""
    await app.stop()
    await app.shutdown()
    await app.bot_data.db.dispose()


async def _into_holds(
    app: BotApplication, world: World, count: int, spread: float
) -> dict[int, datetime]:
    """`count` pairs, each started into its first hold, spread over `spread` seconds.

    Returns each first partner's chat id and the deadline of their hold.
    """
    data = app.bot_data
    now = data.clock.now()
    async with data.db.unit() as unit:
        for index in range(count):
            for uid in (FIRST_USER_ID + 2 * index, FIRST_USER_ID + 2 * index + 1):
                await unit.users.remember(uid, f"P{uid}", None, now, reachable=True)
                # Read the safety note in an earlier session: Join leads to the first setup.
                await unit.users.acknowledge_safety(uid, now)
                # Both opened the bot once, so it may write to them first.
                world.add_private_chat({"id": uid, "first_name": f"P{uid}"})
                world.opened.add(uid)
        await unit.commit()
    deadlines: dict[int, datetime] = {}
    for index in range(count):
        first, second = FIRST_USER_ID + 2 * index, FIRST_USER_ID + 2 * index + 1
        async with data.db.unit() as unit:
            pair, _ = await unit.pairs.create(first, second, data.clock.now())
            await unit.commit()
        flow = SessionFlow(app.bot, data)
        applied = await sessions.start(
            data, pair=pair, starter_id=first, routine_id="quick", origin_chat_id=first
        )
        await flow.follow(applied)
        session_id = applied.live.id
        for event_type, user in ((Join, second), (Ready, first), (Ready, second)):
            event = event_type(user_id=user, version=applied.live.state.version)
            applied = await sessions.apply(data, session_id, event)
            await flow.follow(applied)
        deadline = applied.live.state.deadline
        assert deadline is not None
        deadlines[first] = deadline
        if spread:
            await asyncio.sleep(spread / count)
    return deadlines


async def _lateness(
    world: World, deadlines: dict[int, datetime], within: float, after: float = 0.0
) -> list[float]:
    """Seconds from each hold's deadline to its next card, once every card arrived;
    holds due before `after` (a timestamp) are left out."""
    deadlines = {chat: at for chat, at in deadlines.items() if at.timestamp() >= after}
    give_up = time.monotonic() + within
    found: dict[int, float] = {}
    while len(found) < len(deadlines) and time.monotonic() < give_up:
        for call in world.calls:
            chat = call.params.get("chat_id")
            if (
                call.method == "sendMessage"
                and chat in deadlines
                and chat not in found
                and STEP_3.match(str(call.params.get("text", "")))
            ):
                found[chat] = call.at - deadlines[chat].timestamp()
        await asyncio.sleep(0.1)
    missing = len(deadlines) - len(found)
    if missing:
        print(f"  {missing} holds never ended within {within:.0f} s", flush=True)
    return list(found.values())


def _summary(samples: Sequence[float]) -> str:
    if not samples:
        return "no samples"
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"max {ordered[-1] * 1000:.0f} ms, n={len(ordered)}"
    )


async def one_worker(url: str, count: int) -> list[float]:
    world = World(clock=time.time)
    settings = make_settings(url, session_time_scale=TIME_SCALE, timer_poll_seconds=POLL_SECONDS)
    async with _worker(settings, world) as app:
        began = time.monotonic()
        deadlines = await _into_holds(app, world, count, spread=0.0)
        took = time.monotonic() - began
        print(f"  {count} sessions into their holds in {took:.1f} s", flush=True)
        return await _lateness(world, deadlines, within=120)


async def takeover(url: str, count: int) -> list[float]:
    world = World(clock=time.time)
    settings = make_settings(url, session_time_scale=TIME_SCALE, timer_poll_seconds=POLL_SECONDS)
    async with _worker(settings, world) as survivor, _worker(settings, world) as armer:
        deadlines = await _into_holds(armer, world, count, spread=0.0)
        await _die(armer)
        died = time.time()
        # Holds due before the armer died may have been ended by it: only the others count.
        late = await _lateness(world, deadlines, within=120, after=died)
        print(f"  {len(deadlines) - len(late)} holds were due before the armer died", flush=True)
        assert survivor.running
        return late


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_timers")
    parser.add_argument("--sessions", type=int, default=200)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    print(
        f"{args.sessions} holds ending, SESSION_TIME_SCALE={TIME_SCALE}, "
        f"poll every {POLL_SECONDS * TIME_SCALE:.1f} s; lateness = next card - deadline;"
        f" load average {_load()}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as folder:
        sqlite = f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
        late = asyncio.run(one_worker(sqlite, args.sessions))
        print(f"sqlite, one worker: {_summary(late)} (load {_load()})", flush=True)
    postgres = postgres_url()
    if not postgres:
        print("PostgreSQL skipped: TEST_DATABASE_URL is not set.", flush=True)
        return 0
    asyncio.run(reset_postgres(postgres))
    late = asyncio.run(one_worker(postgres, args.sessions))
    print(f"postgresql, one worker: {_summary(late)} (load {_load()})", flush=True)
    asyncio.run(reset_postgres(postgres))
    late = asyncio.run(takeover(postgres, args.sessions))
    print(
        f"postgresql, the arming worker died, the other took over: {_summary(late)}"
        f" (load {_load()})",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
