"""Benchmark: one and two webhook workers on PostgreSQL, and the shared Telegram budget.

    python -m tests.bench.bench_workers [--short] [--only taps|budget] [--rates 10,20,...]

Needs TEST_DATABASE_URL (a fresh database is made on its server and dropped after);
the budget part needs Redis on 127.0.0.1:6379 (or BENCH_REDIS_URL). It runs the real
`python -m bot` workers of `tests/e2e/two_workers.py` against the HTTP double.

1. **Taps.** `--sessions` `quick` sessions are brought to their first hold, then Pause
   and Resume taps (each loads the session, saves it with compare-and-set, answers the
   tap and edits both phones' cards) are posted straight to the workers' webhooks, turn
   about, at a fixed rate (open loop: a tap goes at its instant whether or not the ones
   before it were answered). Each rate runs `--warm-up` seconds, then a steady window
   of `--window` seconds (longer at low rates, so every window holds at least
   `--min-taps` taps); only the window's taps are timed, every tap's error counts. A
   tap's time runs from its planned instant to Telegram (the double) receiving its
   answerCallbackQuery, so a late load generator shows as a slow bot, never hides one;
   the generator's own lateness is printed beside it, and the seconds the workers'
   calls waited for the Telegram budget (0 when its pace did not hold the taps).
   Errors: a tap refused, never answered, or with no button to press. The capacity is
   the highest rate whose p99 is at most 50 ms with no error; the sweep stops at the
   first rate that fails. Each
   sweep (one worker, then two) waits up to `--settle` seconds for the machine's
   1-minute load average to fall to 1.5 and prints it at the start and end of each
   rate; a sweep that starts above 1.5 prints "machine busy, no figure" instead of a
   capacity, since the other processes, not the bot, would set it. TELEGRAM_RATE_LIMIT
   is 1000 here, so Telegram's pace does not cap the taps (each costs two edits);
   SESSION_TIME_SCALE is 10, so no hold ends during the run. `--short` is the quick
   look: 60 sessions, 1 s warm-up, 3 s windows, rates 10 to 320.
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
DEFAULT_RATES = (10, 20, 40, 60, 80, 120, 160, 240, 320, 480)
SHORT_RATES = (10, 20, 40, 80, 160, 320)
P99_TARGET = 0.050
WARM_UP_RATE = 5
# Above this 1-minute load average on 2 cores, other processes set the figure.
BUSY_LOAD = 1.5
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
    late: list[float] = field(default_factory=list)
    refused: int = 0
    lost: int = 0
    no_button: int = 0
    handled_within_50ms: float = float("nan")
    budget_wait: float = float("nan")
    load_start: float = float("nan")
    load_end: float = float("nan")

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    @property
    def p99(self) -> float:
        return _p99(self.latencies)

    @property
    def errors(self) -> int:
        return self.refused + self.lost + self.no_button

    @property
    def holds(self) -> bool:
        return self.p99 <= P99_TARGET and not self.errors


def _p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


@dataclass
class Sweep:
    """One worker count's rates, up to the first that failed."""

    workers: int
    load_at_start: float
    runs: list[TapRun] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return self.load_at_start > BUSY_LOAD

    def verdict(self) -> str:
        held = [r for r in self.runs if r.holds]
        failed = next((r for r in self.runs if not r.holds), None)
        first_fail = (
            f"first rate that fails: {failed.rate} taps/s (p99 {failed.p99 * 1000:.0f} ms, "
            f"{failed.errors} errors)"
            if failed is not None
            else "no rate tried failed"
        )
        if self.busy:
            return (
                f"machine busy, no figure (load average {self.load_at_start:.2f} > "
                f"{BUSY_LOAD} at start); {first_fail}"
            )
        best = f"{held[-1].rate} taps/s" if held else "below the lowest rate tried"
        return f"capacity {best}; {first_fail}"


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


Counts = tuple[float, float, float]


def handled_share(pair: TwoWorkers, before: dict[str, Counts]) -> tuple[float, float]:
    """Since `before`, over every running worker: the share of taps handled within 50 ms,
    and the seconds the workers' Bot API calls waited for the Telegram budget."""
    within = total = waited = 0.0
    for worker in pair.workers:
        if not worker.running:
            continue
        now = _histogram(worker)
        was = before.get(worker.name, (0.0, 0.0, 0.0))
        within += now[0] - was[0]
        total += now[1] - was[1]
        waited += now[2] - was[2]
    return (within / total if total else float("nan")), waited


def snapshot(pair: TwoWorkers) -> dict[str, Counts]:
    return {w.name: _histogram(w) for w in pair.workers if w.running}


def _histogram(worker: Any) -> Counts:
    status, body = get(worker.base + "/metrics")
    within = total = waited = 0.0
    for family in text_string_to_metric_families(body if status == 200 else ""):
        for s in family.samples:
            if s.name == "pairstretch_budget_wait_seconds_sum":
                waited += s.value
            if s.labels.get("kind") != "callback_query":
                continue
            if s.name == "pairstretch_update_handling_seconds_bucket" and s.labels["le"] == "0.05":
                within = s.value
            if s.name == "pairstretch_update_handling_seconds_count":
                total = s.value
    return within, total, waited


def run_rate(
    double: BotApiDouble,
    pair: TwoWorkers,
    stopwatch: Stopwatch,
    sessions: int,
    rate: int,
    timing: Timing,
    ids: Iterator[int],
) -> TapRun:
    """Pause/Resume taps at `rate` a second, posted to the running workers: a warm-up,
    then the steady window whose taps are timed."""
    targets = [w.base + "/telegram/hook" for w in pair.workers if w.running]
    result = TapRun(rate, len(targets), load_start=os.getloadavg()[0])
    warm = int(rate * timing.warm_up)
    count = warm + max(int(rate * timing.window), timing.min_taps)
    before: dict[str, Counts] = {}
    posted: dict[str, tuple[float, bool]] = {}
    start = time.monotonic() + 0.2

    def one(k: int) -> None:
        at = start + k / rate
        delay = at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if k == warm:
            before.update(snapshot(pair))
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
        steady = k >= warm
        posted[tap_id] = (at, steady)
        if steady:
            result.late.append(max(0.0, time.monotonic() - at))
        post_json(targets[k % len(targets)], update, SECRET)

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(one, range(count)))
    deadline = time.monotonic() + ANSWER_WITHIN
    while time.monotonic() < deadline and any(t not in stopwatch.answered for t in posted):
        time.sleep(0.05)
    for tap_id, (at, steady) in posted.items():
        answer = stopwatch.answered.get(tap_id)
        if answer is None:
            result.lost += 1
            continue
        instant, params = answer
        if steady:
            result.latencies.append(instant - at)
        if params.get("show_alert") or "no longer" in str(params.get("text", "")):
            result.refused += 1
    result.handled_within_50ms, result.budget_wait = handled_share(pair, before)
    result.load_end = os.getloadavg()[0]
    return result


@dataclass(frozen=True)
class Timing:
    warm_up: float
    window: float
    min_taps: int
    settle: float


def settled_load(settle: float) -> float:
    """The 1-minute load average once it is at most BUSY_LOAD, or after `settle` s."""
    deadline = time.monotonic() + settle
    while (load := os.getloadavg()[0]) > BUSY_LOAD and time.monotonic() < deadline:
        time.sleep(1.0)
    return load


def sweep(
    double: BotApiDouble,
    pair: TwoWorkers,
    stopwatch: Stopwatch,
    sessions: int,
    rates: list[int],
    timing: Timing,
    ids: Iterator[int],
) -> Sweep:
    # Warm-up, not reported: a worker's first taps open its connections and caches.
    run_rate(double, pair, stopwatch, sessions, WARM_UP_RATE, Timing(0, 2.0, 0, 0), ids)
    result = Sweep(len([w for w in pair.workers if w.running]), settled_load(timing.settle))
    print(f"  {result.workers} worker(s), load average at start {result.load_at_start:.2f}")
    for rate in rates:
        run = run_rate(double, pair, stopwatch, sessions, rate, timing, ids)
        result.runs.append(run)
        print(_tap_row(run), flush=True)
        if not run.holds:
            break  # past the knee: higher rates only measure the overload
        time.sleep(1.0)
    return result


TAP_HEADER = (
    "  workers  taps/s  timed   p50 ms   p99 ms  errors  generator late p99 ms  "
    "within 50 ms (workers' own)  budget wait s  load start -> end"
)


def _tap_row(run: TapRun) -> str:
    return (
        f"  {run.workers:>7}  {run.rate:>6}  {len(run.latencies):>5}  {run.p50 * 1000:7.1f}  "
        f"{run.p99 * 1000:7.1f}  {run.errors:>6}  {_p99(run.late) * 1000:21.1f}  "
        f"{run.handled_within_50ms:27.1%}  {run.budget_wait:13.2f}  "
        f"{run.load_start:.2f} -> {run.load_end:.2f}" + ("" if run.holds else "  FAILS")
    )


def taps(args: argparse.Namespace, folder: Path) -> list[Sweep]:
    results: list[Sweep] = []
    timing = Timing(args.warm_up, args.window, args.min_taps, args.settle)
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
            print(TAP_HEADER)
            ids = itertools.count(10_000_000)
            results.append(sweep(double, pair, stopwatch, args.sessions, args.rates, timing, ids))
            second.start()
            second.wait_until_healthy()
            results.append(sweep(double, pair, stopwatch, args.sessions, args.rates, timing, ids))
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
    parser.add_argument("--short", action="store_true", help="a quick look (about 2 min)")
    parser.add_argument("--sessions", type=int, default=None, help="300; 60 with --short")
    parser.add_argument("--warm-up", type=float, default=None, help="s per rate: 2; 1 short")
    parser.add_argument("--window", type=float, default=None, help="s timed: 8; 3 short")
    parser.add_argument("--min-taps", type=int, default=None, help="per window: 300; 100 short")
    parser.add_argument("--settle", type=float, default=None, help="s for the load: 60; 20")
    parser.add_argument("--rates", default=None)
    parser.add_argument("--budget-pairs", type=int, default=600)
    parser.add_argument("--only", choices=("taps", "budget"), default=None)
    parser.add_argument("--logs", type=Path, default=None, help="keep the workers' logs here")
    args = parser.parse_args(argv)
    short = args.short
    args.sessions = args.sessions or (60 if short else 300)
    args.warm_up = args.warm_up if args.warm_up is not None else (1.0 if short else 2.0)
    args.window = args.window or (3.0 if short else 8.0)
    args.min_taps = args.min_taps or (100 if short else 300)
    args.settle = args.settle if args.settle is not None else (20.0 if short else 60.0)
    rates = args.rates or ",".join(map(str, SHORT_RATES if short else DEFAULT_RATES))
    args.rates = [int(r) for r in rates.split(",")]
    if not POSTGRES_URL:
        print("bench_workers: TEST_DATABASE_URL is not set; skipped (it needs PostgreSQL)")
        return 0
    print(f"Workers on PostgreSQL, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.logs or Path(scratch)
        if args.only in (None, "taps"):
            print(
                f"Taps (Pause/Resume) on {args.sessions} sessions: {args.warm_up:.0f} s warm-up, "
                f"then at least {args.window:.0f} s and {args.min_taps} taps timed per rate; "
                "capacity: p99 tap -> answer <= 50 ms, no error"
            )
            sweeps = taps(args, Path(folder) / "taps")
            print("Tap capacity:")
            for result in sweeps:
                print(f"  {result.workers} worker(s): {result.verdict()}")
        if args.only in (None, "budget"):
            print(f"Budget: reminders for {args.budget_pairs} pairs, TELEGRAM_RATE_LIMIT=30:")
            budget(args, Path(folder) / "budget")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
