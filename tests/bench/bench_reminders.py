"""Benchmark: daily reminders for 100,000 pairs, on SQLite (and PostgreSQL when set).

    python -m tests.bench.bench_reminders [--pairs 100000]

For each database it builds 100,000 pairs with one or two slots each (a few zones,
30- and 45-minute offsets among them), then prints:

- time to ready: a fresh `python` process builds the application, migrates, schedules
  the dispatcher and finishes its first tick (nothing due yet); wall time from spawn;
- memory per scheduled pair: that process's RSS with the 100,000 pairs minus its RSS
  with an empty database, divided by the pairs (the design keeps no per-pair state);
- claim: the time to claim 10,000 slots due in the same minute (delivery rows written,
  slots moved on, committed; nothing sent);
- delivery throughput against the fake Bot API through PTB's AIORateLimiter, at 30
  messages a second (Telegram's overall limit, as the bot is built) for 10 s, the same
  rate without bursts (a bucket of one message every 1/30 s) for 10 s, and at 1,000 a
  second for 5 s (our own ceiling).
  "over 30 in 1 s" counts the messages that a strict sliding one-second window of 30
  would have refused (the fake itself never answers 429 unless told to).

- lateness on a running application: 150 pairs with a slot due at the same minute, the
  application started 20 s before it (`app.start()`, the real job queue, the bot's
  30-a-second pace, nobody ticking by hand), with a clock that runs with the wall
  clock; for each reminder, the instant its first message was handed to the Bot API
  minus its due instant, on the clock the dispatcher reads.
  `--lateness` runs only this part (on SQLite, and PostgreSQL when set).

Nothing is asserted: the bench prints numbers. Each database runs in its own child
process, so the numbers of one do not leak into the other.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import AIORateLimiter, ExtBot

from bot.app import build_application, telegram_budget
from bot.budget.limiter import TelegramBudget
from bot.budget.shared import Budget
from bot.context import BotData
from bot.reminder_dispatch import ReminderDispatcher, dispatcher_job, pitch_of
from bot.services import reminder_claims as service
from routines.loader import load_library
from routines.reminder_time import Weekdays, next_due
from storage.db import Database
from tests.bench.databases import SKIPPED, postgres_url
from tests.bulk_pairs import BulkPairs
from tests.clock import FakeClock, RunningClock
from tests.conftest import TEST_TOKEN, make_settings, reset_postgres
from tests.fake_telegram import FakeBotApi, World

REPO = Path(__file__).resolve().parents[2]
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe", "UTC")
# The minutes the bench makes due: claim at A, 30/s at B, 1,000/s at C.
A = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)
B = A + timedelta(minutes=1)
C = A + timedelta(minutes=2)
BEFORE = A - timedelta(minutes=1)
CLAIM_SLOTS = 10_000
SLOW_PAIRS = 800  # 1,600 messages: more than two runs of 10 s at 30 a second
FAST_PAIRS = 4_000  # 8,000 messages: more than 5 s at 1,000 a second
LATE_PAIRS = 150
# Due at this minute; the application starts `LATE_LEAD` before it.
LATE_DUE = datetime(2026, 11, 4, 7, 45, tzinfo=UTC)
LATE_LEAD = timedelta(seconds=20)


# -- the data ------------------------------------------------------------------------------


def _wall(instant: datetime, zone: str) -> Any:
    return instant.astimezone(ZoneInfo(zone)).time()


async def populate(url: str, pairs: int) -> None:
    """Users, pairs and slots in bulk; the due ones read A, B or C on their own clocks."""
    rng = random.Random(6)
    rows = BulkPairs(created_at=BEFORE)
    for index in range(pairs):
        zone = ZONES[index % len(ZONES)]
        pair_id = rows.add_pair(2 * index + 1, 2 * index + 2, zone)
        if index < CLAIM_SLOTS:
            first = _wall(A, zone)
        elif index < CLAIM_SLOTS + SLOW_PAIRS:
            first = _wall(B, zone)
        elif index < CLAIM_SLOTS + SLOW_PAIRS + FAST_PAIRS:
            first = _wall(C, zone)
        else:
            first = _wall(A + timedelta(minutes=rng.randrange(5, 24 * 60)), zone)
        times = [first]
        if index % 2:
            times.append(_wall(A + timedelta(minutes=rng.randrange(5, 24 * 60)), zone))
        for slot_time in dict.fromkeys(times):
            due = next_due(slot_time, Weekdays.DAILY, ZoneInfo(zone), BEFORE)
            rows.add_daily_slot(pair_id, slot_time, due.at_utc)
    await rows.write(url)


# -- ready and memory: a process of its own -------------------------------------------------


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _ready_child(url: str) -> None:
    """Start as `python -m bot` would (minus the network), say READY and the RSS."""
    clock = FakeClock(BEFORE)
    app = build_application(make_settings(url), request=FakeBotApi(World()), clock=clock)
    async with app:
        assert app.post_init is not None
        await app.post_init(app)
        job = dispatcher_job(app)
        job.job.pause()  # the tick below is the first one, run here to time it
        await app.start()
        assert isinstance(job.data, ReminderDispatcher)
        await job.data.tick(app.bot, app.bot_data)
        gc.collect()
        print(f"READY {_rss_kib()}", flush=True)
        await app.stop()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)


def time_to_ready(url: str) -> tuple[float, int]:
    """Seconds from spawning the process to READY, and its RSS (KiB) then."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.bench_reminders", "--ready-child", url],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    for line in child.stdout:
        if line.startswith("READY"):
            ready = time.perf_counter() - started
            rss = int(line.split()[1])
            break
    else:
        raise RuntimeError("the child never became ready")
    child.wait()
    return ready, rss


# -- claim and send -------------------------------------------------------------------------


def _data(url: str, clock: FakeClock) -> BotData:
    data = BotData()
    data.settings = make_settings(url)
    data.clock = clock
    data.db = Database.connect(url)
    return data


async def time_claim(url: str) -> tuple[float, int]:
    """Claim everything due at A in the dispatcher's batches; nothing is sent."""
    data = _data(url, FakeClock(A))
    claimed = 0
    started = time.perf_counter()
    while True:
        claim = await service.claim_due(data, A, 250)
        claimed += len(claim.outgoing)
        if claim.claimed < 250:
            break
    elapsed = time.perf_counter() - started
    await data.db.dispose()
    return elapsed, claimed


class _StrictWindow(FakeBotApi):
    """Counts messages a strict sliding window of `limit` a second would refuse."""

    def __init__(self, world: World, limit: int) -> None:
        super().__init__(world)
        self.limit = limit
        self.recent: deque[float] = deque()
        self.over = 0
        self.sent_at: list[float] = []

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        if url.endswith("/sendMessage"):
            now = time.perf_counter()
            self.sent_at.append(now)
            self.recent.append(now)
            while self.recent and self.recent[0] <= now - 1.0:
                self.recent.popleft()
            if len(self.recent) > self.limit:
                self.over += 1
        return await super().do_request(url, method, *args, **kwargs)


async def throughput(
    url: str, at: datetime, limiter: AIORateLimiter | TelegramBudget, seconds: float
) -> dict[str, float]:
    """Run one dispatcher tick for `seconds` through `limiter`, then stop it."""
    data = _data(url, FakeClock(at))
    world = World()
    world.opened |= set(range(1, 2 * 100_000 + 2))
    request = _StrictWindow(world, 30)
    bot = ExtBot(TEST_TOKEN, request=request, rate_limiter=limiter)
    await bot.initialize()
    dispatcher = ReminderDispatcher(pitch_of(load_library()))
    started = time.perf_counter()
    task = asyncio.create_task(dispatcher.tick(bot, data))
    await asyncio.sleep(seconds)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    sent = [t for t in request.sent_at if t - started <= seconds]
    window_max, window = 0, deque[float]()
    for instant in sent:
        window.append(instant)
        while window[0] <= instant - 1.0:
            window.popleft()
        window_max = max(window_max, len(window))
    refusals = sum(1 for call in world.calls if call.method == "sendMessage") - len(
        [m for chat in world.messages.values() for m in chat if m.from_bot]
    )
    await bot.shutdown()
    await data.db.dispose()
    return {
        "per_second": len(sent) / seconds,
        "max_1s": window_max,
        "over_30": request.over,
        "refused": refusals,
    }


# -- lateness on a running application ----------------------------------------------------


async def _populate_due_together(url: str) -> None:
    """`LATE_PAIRS` pairs in UTC, each with one slot due at `LATE_DUE`."""
    rows = BulkPairs(created_at=LATE_DUE - timedelta(days=1))
    for n in range(LATE_PAIRS):
        pair_id = rows.add_pair(2 * n + 1, 2 * n + 2)
        rows.add_daily_slot(pair_id, LATE_DUE.time(), LATE_DUE)
    await rows.write(url)


async def lateness(url: str) -> dict[str, float]:
    """Seconds from the due minute to each reminder's first message, on the bot's clock."""
    if url.startswith("postgresql"):
        await reset_postgres(url)
    await _populate_due_together(url)
    clock = RunningClock(LATE_DUE - LATE_LEAD)
    world = World(clock=lambda: clock.now().timestamp())
    world.opened |= set(range(1, 2 * LATE_PAIRS + 1))
    settings = make_settings(url)
    # The budget on real seconds: handed the test's clock alone, it would leap over its
    # waits (bot/clock.py's SecondsFollowing) and the pace would not show.
    app = build_application(
        settings,
        request=FakeBotApi(world),
        clock=clock,
        rate_limiter=telegram_budget(settings),
    )
    first_message: dict[int, float] = {}
    async with app:
        assert app.post_init is not None
        await app.post_init(app)
        await app.start()
        give_up = time.perf_counter() + 2 * 60 + LATE_LEAD.total_seconds()
        while len(first_message) < LATE_PAIRS and time.perf_counter() < give_up:
            await asyncio.sleep(0.05)
            for call in world.calls_of("sendMessage"):
                pair_id = (int(call.params["chat_id"]) + 1) // 2
                first_message.setdefault(pair_id, call.at)
        await app.stop()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)
    late = sorted(at - LATE_DUE.timestamp() for at in first_message.values())
    if url.startswith("postgresql"):
        await reset_postgres(url)
    return {
        "reached": len(late),
        "first": late[0] if late else float("nan"),
        "p50": late[len(late) // 2] if late else float("nan"),
        "last": late[-1] if late else float("nan"),
    }


def _lateness_row(r: dict[str, float]) -> str:
    return _row(
        f"lateness, {LATE_PAIRS} pairs due in one minute",
        f"first {r['first']:.2f} s, p50 {r['p50']:.2f} s, last {r['last']:.2f} s"
        f" (from the due minute to each pair's first message; {r['reached']:.0f} reached)",
    )


# -- one database ---------------------------------------------------------------------------


async def run_database(url: str, pairs: int) -> dict[str, Any]:
    result: dict[str, Any] = {"pairs": pairs}
    late_url = url if url.startswith("postgresql") else url.replace(".sqlite3", "-late.sqlite3")
    result["lateness"] = await lateness(late_url)
    if url.startswith("postgresql"):
        await reset_postgres(url)
    empty_ready, empty_rss = time_to_ready(url)  # migrates the empty database first
    started = time.perf_counter()
    await populate(url, pairs)
    result["populate_s"] = time.perf_counter() - started
    ready, rss = time_to_ready(url)
    result.update(ready_s=ready, empty_ready_s=empty_ready, rss_kib=rss, empty_rss_kib=empty_rss)
    result["bytes_per_pair"] = (rss - empty_rss) * 1024 / pairs
    result["claim_s"], result["claimed"] = await time_claim(url)
    # PTB's default limiter: 30 a second, in a bucket that bursts 30 at once.
    result["slow"] = await throughput(url, B, AIORateLimiter(max_retries=3), 10.0)
    # The pace the bot uses (TELEGRAM_RATE_LIMIT=30): one every 1/30 s, never 30 at once.
    result["smooth"] = await throughput(url, B, TelegramBudget(Budget(30)), 10.0)
    # The paid tier, TELEGRAM_RATE_LIMIT=1000: PTB's bucket let ~2,000 through in the
    # first second (issue 15); the bot's pace holds 1,000 in every second.
    result["fast"] = await throughput(url, C, TelegramBudget(Budget(1000)), 5.0)
    return result


def _row(name: str, value: str) -> str:
    return f"  {name:<46} {value}"


def report(name: str, r: dict[str, Any]) -> None:
    print(f"{name}: {r['pairs']:,} pairs (built in {r['populate_s']:.1f} s)")
    print(
        _row(
            "time to ready (spawn -> first tick done)",
            f"{r['ready_s']:.2f} s  (empty database: {r['empty_ready_s']:.2f} s)",
        )
    )
    print(
        _row(
            "memory per scheduled pair above empty",
            f"{r['bytes_per_pair']:.1f} B"
            f"  (RSS {r['rss_kib'] / 1024:.1f} MiB vs {r['empty_rss_kib'] / 1024:.1f} MiB)",
        )
    )
    print(_lateness_row(r["lateness"]))
    print(_row(f"claim {r['claimed']:,} slots due in one minute", f"{r['claim_s']:.2f} s"))
    for key, label in (
        ("slow", "PTB AIORateLimiter default 30/s, 10 s"),
        ("smooth", "bot's budget 30/s (3 per 100 ms), 10 s"),
        ("fast", "bot's budget at 1,000/s, 5 s"),
    ):
        t = r[key]
        print(
            _row(
                f"delivery, {label}",
                f"{t['per_second']:.1f} msg/s, max {t['max_1s']:.0f} in 1 s, "
                + (f"over 30 in 1 s: {t['over_30']:.0f}, " if key != "fast" else "")
                + f"refused: {t['refused']:.0f}",
            )
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_reminders")
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--lateness", action="store_true", help="only the lateness")
    parser.add_argument("--ready-child", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ready_child:
        asyncio.run(_ready_child(args.ready_child))
        return 0
    if args.lateness:
        with tempfile.TemporaryDirectory() as folder:
            late_urls = [("SQLite", f"sqlite+aiosqlite:///{folder}/late.sqlite3")]
            if postgres := postgres_url():
                late_urls.append(("PostgreSQL", postgres))
            for name, url in late_urls:
                print(f"{name}:")
                print(_lateness_row(asyncio.run(lateness(url))))
        return 0
    if args.database:
        result = asyncio.run(run_database(args.database, args.pairs))
        Path(args.out).write_text(json.dumps(result))
        return 0

    databases = []
    with tempfile.TemporaryDirectory() as folder:
        databases.append(("SQLite", f"sqlite+aiosqlite:///{folder}/bench.sqlite3"))
        if postgres := postgres_url():
            databases.append(("PostgreSQL", postgres))
        else:
            print(f"PostgreSQL: {SKIPPED}")
        for name, url in databases:
            out = Path(folder) / f"{name}.json"
            command = [
                sys.executable,
                "-m",
                "tests.bench.bench_reminders",
                "--pairs",
                str(args.pairs),
                "--database",
                url,
                "--out",
                str(out),
            ]
            if subprocess.run(command, cwd=REPO, check=False).returncode != 0:
                print(f"{name}: the run failed")
                return 1
            report(name, json.loads(out.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
