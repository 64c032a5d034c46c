"""Benchmark: one and two webhook workers on PostgreSQL, and the shared Telegram budget.

    python -m tests.bench.bench_workers [--sessions 300] [--seconds 10] [--rates 20,40,...]

Needs TEST_DATABASE_URL (a fresh database is made on its server and dropped after);
the budget part needs Redis on 127.0.0.1:6379 (or BENCH_REDIS_URL). It runs the real
`python -m bot` workers of `tests/e2e/two_workers.py` against the HTTP double.

1. **Taps.** `--sessions` `quick` sessions are brought to their first hold, then Pause
   and Resume taps (each loads the session, saves it with compare-and-set, answers the
   tap and edits both phones' cards) are posted straight to the workers' webhooks, turn
   about, at a fixed rate (open loop: a tap goes at its instant whether or not the ones
   before it were answered) for `--seconds` per rate. A tap's time runs from its instant
   to Telegram (the double) receiving its answerCallbackQuery. For each rate: p50/p99
   of that time, taps refused or unanswered, and the workers' own share of updates
   handled within 50 ms (their /metrics histogram: handling including the card edits,
   queue wait excluded). The capacity is the highest rate whose p99 stays under 50 ms
   with no tap refused or lost; the ramp stops at the first rate past the knee.
   TELEGRAM_RATE_LIMIT is 1000 here, so Telegram's pace does not cap the taps (each tap
   costs two edits); SESSION_TIME_SCALE is 10, so no hold ends during the run.
2. **Budget.** Reminders due now for `--budget-pairs` pairs (two messages each), claimed
   by both workers in batches, sent through TELEGRAM_RATE_LIMIT=30: shared in Redis;
   and, for contrast, with no Redis and each worker counting itself alone (WORKERS=1,
   what each process did before) and with the fixed share (WORKERS=2). For each: the
   messages a second Telegram received over the run, and the most in any one second.

Everything shares the machine's 2 cores: two workers, PostgreSQL, Redis, the double and
this load generator. Nothing is asserted; the numbers are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import threading
import time
from bisect import bisect_left
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bot.playground.double import BotApiDouble, get, post_json
from tests.bulk_pairs import BulkPairs
from tests.conftest import POSTGRES_URL, TEST_TOKEN
from tests.e2e.two_workers import SECRET, TwoWorkers, fresh_database, two_workers
from tests.fake_telegram import SentMessage

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
FIRST_USER = 800_000
DEFAULT_RATES = (5, 10, 20, 30, 40, 60, 80, 100, 130, 160, 200, 250)
P99_TARGET = 0.050
WARM_UP_RATE = 5
# Past this, a tap counts as lost (never answered).
ANSWER_WITHIN = 10.0


# -- the people ------------------------------------------------------------------------------


def partners(index: int) -> tuple[int, int]:
    return FIRST_USER + 2 * index, FIRST_USER + 2 * index + 1


def seed(pairs: int, due: datetime | None) -> BulkPairs:
    """`pairs` pairs in UTC (and each a slot due at `due`, when given)."""
    rows = BulkPairs(created_at=datetime.now(UTC) - timedelta(days=1))
    for index in range(pairs):
        pair_id = rows.add_pair(*partners(index))
        if due is not None:
            rows.add_daily_slot(pair_id, due.time(), due)
    return rows


# -- sessions brought to their first hold ----------------------------------------------------


def card_with(double: BotApiDouble, uid: int, label: str) -> SentMessage | None:
    """The newest card in `uid`'s chat with a button labelled `label`, if any."""
    for message in reversed(double.messages_of(uid)):
        if any(text == label for text, _ in message.buttons):
            return message
    return None


def wait_all(double: BotApiDouble, uids: list[int], label: str, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    missing = list(uids)
    while missing:
        missing = [uid for uid in missing if card_with(double, uid, label) is None]
        if missing and time.monotonic() > deadline:
            raise RuntimeError(f"{len(missing)} chats never showed {label!r}")
        time.sleep(0.1)


def tap_update(
    update_id: int, tap_id: str, uid: int, card: SentMessage, label: str
) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": card.tap(tap_id, _person(uid).as_user(), card.button(label)),
    }


def tap_all(double: BotApiDouble, uids: list[int], label: str) -> None:
    """Once every chat of `uids` shows a card with `label`, each taps it."""
    wait_all(double, uids, label)
    for uid in uids:
        card = card_with(double, uid, label)
        assert card is not None
        double.push_tap(_person(uid), card, label)


def bring_to_first_hold(double: BotApiDouble, sessions: int) -> None:
    """Each pair starts `quick`, joins, both tap Got it under the safety note of their
    first session, then Ready, until the hold shows Pause."""
    lows = [partners(i)[0] for i in range(sessions)]
    highs = [partners(i)[1] for i in range(sessions)]
    for low in lows:
        double.push_message(_person(low), "/stretch quick")
    tap_all(double, highs, "Join")
    tap_all(double, lows + highs, "Got it")
    tap_all(double, lows + highs, "Ready")
    wait_all(double, lows + highs, "Pause")


def _person(uid: int) -> Any:
    from tests.harness import Person

    return Person(uid, f"P{uid}")


# -- taps at a fixed rate --------------------------------------------------------------------


@dataclass
class TapRun:
    rate: int
    workers: int
    latencies: list[float] = field(default_factory=list)
    refused: int = 0
    lost: int = 0
    no_button: int = 0
    handled_within_50ms: float = float("nan")

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    @property
    def p99(self) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]

    @property
    def holds(self) -> bool:
        return self.p99 < P99_TARGET and not (self.refused or self.lost or self.no_button)


class Stopwatch:
    """Answers to taps as the double receives them: tap id -> (monotonic instant, text)."""

    def __init__(self) -> None:
        self.answered: dict[str, tuple[float, dict[str, Any]]] = {}
        self.sent: list[tuple[float, str | None]] = []
        self.event = threading.Event()

    def __call__(self, via: str | None, method: str, params: dict[str, Any]) -> None:
        if method == "answerCallbackQuery":
            self.answered[str(params.get("callback_query_id"))] = (time.monotonic(), params)
        elif method == "sendMessage":
            self.sent.append((time.monotonic(), via))


def handled_share(pair: TwoWorkers, before: dict[str, tuple[float, float]]) -> float:
    """Callback updates handled within 50 ms since `before`, over every running worker."""
    within = total = 0.0
    for worker in pair.workers:
        if not worker.running:
            continue
        now = _histogram(worker)
        was = before.get(worker.name, (0.0, 0.0))
        within += now[0] - was[0]
        total += now[1] - was[1]
    return within / total if total else float("nan")


def snapshot(pair: TwoWorkers) -> dict[str, tuple[float, float]]:
    return {w.name: _histogram(w) for w in pair.workers if w.running}


def _histogram(worker: Any) -> tuple[float, float]:
    status, body = get(worker.base + "/metrics")
    within = total = 0.0
    for family in text_string_to_metric_families(body if status == 200 else ""):
        for s in family.samples:
            if s.labels.get("kind") != "callback_query":
                continue
            if s.name == "pairstretch_update_handling_seconds_bucket" and s.labels["le"] == "0.05":
                within = s.value
            if s.name == "pairstretch_update_handling_seconds_count":
                total = s.value
    return within, total


def run_rate(
    double: BotApiDouble,
    pair: TwoWorkers,
    stopwatch: Stopwatch,
    sessions: int,
    rate: int,
    seconds: float,
    ids: Iterator[int],
) -> TapRun:
    """Pause/Resume taps at `rate` a second for `seconds`, posted to the running workers."""
    targets = [w.base + "/telegram/hook" for w in pair.workers if w.running]
    result = TapRun(rate, len(targets))
    count = int(rate * seconds)
    before = snapshot(pair)
    posted: dict[str, float] = {}
    start = time.monotonic() + 0.2

    def one(k: int) -> None:
        at = start + k / rate
        delay = at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        # The partners of a session take turns; each taps what their card shows now.
        uid = partners(k % sessions)[k // sessions % 2]
        card, label = card_with(double, uid, "Pause"), "Pause"
        resume = card_with(double, uid, "Resume")
        if resume is not None and (card is None or resume.message_id >= card.message_id):
            card, label = resume, "Resume"
        if card is None:
            result.no_button += 1
            return
        tap_id = f"b{next(ids)}"
        update = tap_update(next(ids), tap_id, uid, card, label)
        posted[tap_id] = at
        post_json(targets[k % len(targets)], update, SECRET)

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(one, range(count)))
    deadline = time.monotonic() + ANSWER_WITHIN
    while time.monotonic() < deadline and any(t not in stopwatch.answered for t in posted):
        time.sleep(0.05)
    for tap_id, at in posted.items():
        answer = stopwatch.answered.get(tap_id)
        if answer is None:
            result.lost += 1
            continue
        instant, params = answer
        result.latencies.append(instant - at)
        if params.get("show_alert") or "no longer" in str(params.get("text", "")):
            result.refused += 1
    result.handled_within_50ms = handled_share(pair, before)
    return result


def ramp(
    double: BotApiDouble,
    pair: TwoWorkers,
    stopwatch: Stopwatch,
    sessions: int,
    rates: list[int],
    seconds: float,
    ids: Iterator[int],
) -> list[TapRun]:
    runs = []
    # Warm-up, not reported: a worker's first taps open its connections and caches.
    run_rate(double, pair, stopwatch, sessions, WARM_UP_RATE, 2.0, ids)
    for rate in rates:
        load = os.getloadavg()[0]
        run = run_rate(double, pair, stopwatch, sessions, rate, seconds, ids)
        runs.append(run)
        print(f"{_tap_row(run)}; load average {load:.1f}", flush=True)
        if not run.holds:
            break  # past the knee: higher rates only measure the overload
        time.sleep(1.0)
    return runs


def _tap_row(run: TapRun) -> str:
    return (
        f"  {run.workers} worker(s) {run.rate:>4} taps/s: p50 {run.p50 * 1000:6.1f} ms, "
        f"p99 {run.p99 * 1000:7.1f} ms, refused {run.refused}, lost {run.lost}, "
        f"no button {run.no_button}, handled within 50 ms {run.handled_within_50ms:.1%}"
    )


def taps(args: argparse.Namespace, folder: Path) -> dict[int, list[TapRun]]:
    results: dict[int, list[TapRun]] = {}
    with BotApiDouble(token=TEST_TOKEN, no_delay=True) as double, fresh_database("bench") as url:
        rows = seed(args.sessions, None)
        asyncio.run(rows.write(url))
        rows.open_chats(double.world)
        stopwatch = Stopwatch()
        double.on_call = stopwatch
        env = {"SESSION_TIME_SCALE": "10", "TELEGRAM_RATE_LIMIT": "1000", "LOG_LEVEL": "WARNING"}
        with two_workers(double, folder, database_url=url, start=False, **env) as pair:
            first, second = pair.workers
            first.start()
            first.wait_until_healthy()
            double.wait_for_webhook(timeout=15)
            started = time.monotonic()
            bring_to_first_hold(double, args.sessions)
            print(
                f"  {args.sessions} sessions at their first hold in "
                f"{time.monotonic() - started:.1f} s",
                flush=True,
            )
            ids = itertools.count(10_000_000)
            results[1] = ramp(
                double, pair, stopwatch, args.sessions, args.rates, args.seconds, ids
            )
            second.start()
            second.wait_until_healthy()
            results[2] = ramp(
                double, pair, stopwatch, args.sessions, args.rates, args.seconds, ids
            )
            pair.stop_all()
    return results


# -- the budget ------------------------------------------------------------------------------


@dataclass
class BudgetRun:
    label: str
    messages: int
    per_second: float
    most_in_one_second: int
    by_worker: dict[str, int]


def most_in_any_second(instants: list[float]) -> int:
    ordered = sorted(instants)
    return max((bisect_left(ordered, t + 1.0) - i for i, t in enumerate(ordered)), default=0)


def budget_run(label: str, pairs: int, folder: Path, **env: str) -> BudgetRun:
    with BotApiDouble(token=TEST_TOKEN, no_delay=True) as double, fresh_database("budget") as url:
        due = datetime.now(UTC).replace(second=0, microsecond=0)
        rows = seed(pairs, due)
        asyncio.run(rows.write(url))
        rows.open_chats(double.world)
        stopwatch = Stopwatch()
        double.on_call = stopwatch
        settings = {"TELEGRAM_RATE_LIMIT": "30", "LOG_LEVEL": "WARNING", **env}
        with two_workers(double, folder, database_url=url, start=False, **settings) as pair:
            for worker in pair.workers:
                worker.start()
            deadline = time.monotonic() + 2 * pairs / 30 * 2 + 60
            while len(stopwatch.sent) < 2 * pairs and time.monotonic() < deadline:
                time.sleep(0.2)
            pair.stop_all()
    instants = [t for t, _ in stopwatch.sent]
    by_worker: dict[str, int] = {}
    for _, via in stopwatch.sent:
        by_worker[str(via)] = by_worker.get(str(via), 0) + 1
    # The rate over the run: from the first message to the last.
    span = max(instants) - min(instants) if len(instants) > 1 else float("nan")
    return BudgetRun(
        label,
        len(instants),
        (len(instants) - 1) / span,
        most_in_any_second(instants),
        by_worker,
    )


def budget(args: argparse.Namespace, folder: Path) -> list[BudgetRun]:
    runs = []
    setups = (
        ("shared in Redis", {"REDIS_URL": REDIS_URL, "WORKERS": "2"}),
        ("no Redis, WORKERS=2 (fixed share)", {"WORKERS": "2"}),
        ("no Redis, WORKERS=1 (each alone)", {"WORKERS": "1"}),
    )
    for number, (label, env) in enumerate(setups):
        load = os.getloadavg()[0]
        run = budget_run(label, args.budget_pairs, folder / str(number), **env)
        print(f"{_budget_row(run)}; load average {load:.1f}", flush=True)
        runs.append(run)
    return runs


def _budget_row(run: BudgetRun) -> str:
    return (
        f"  {run.label:<36} {run.messages} messages, {run.per_second:5.1f} msg/s "
        f"({run.per_second / 30:.0%} of 30), most in one second {run.most_in_one_second}, "
        f"by worker {run.by_worker}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rates", default=",".join(map(str, DEFAULT_RATES)))
    parser.add_argument("--budget-pairs", type=int, default=600)
    parser.add_argument("--only", choices=("taps", "budget"), default=None)
    parser.add_argument("--logs", type=Path, default=None, help="keep the workers' logs here")
    args = parser.parse_args(argv)
    args.rates = [int(r) for r in args.rates.split(",")]
    if not POSTGRES_URL:
        print("bench_workers: TEST_DATABASE_URL is not set; skipped (it needs PostgreSQL)")
        return 0
    print(f"Workers on PostgreSQL, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.logs or Path(scratch)
        if args.only in (None, "taps"):
            print(f"Taps (Pause/Resume), {args.seconds:.0f} s per rate, p99 target 50 ms:")
            results = taps(args, Path(folder) / "taps")
            for workers, runs in results.items():
                held = [r.rate for r in runs if r.holds]
                print(
                    f"  capacity with {workers} worker(s): "
                    + (f"{max(held)} taps/s" if held else "below the lowest rate")
                )
        if args.only in (None, "budget"):
            print(f"Budget: reminders for {args.budget_pairs} pairs, TELEGRAM_RATE_LIMIT=30:")
            budget(args, Path(folder) / "budget")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
