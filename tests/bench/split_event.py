"""Where one event type's CPU goes: the database units, PTB's calls, the card's text.

The same sessions as `profile_event` (one at a time on the test clock, the real
Application against the fake Bot API), with no profiler: cProfile's cost per Python
call swells PTB's many small calls most, so its shares mislead. Instead the process's
CPU time is added up inside a few chosen calls, and only while an event of the type
asked for runs:

- database units: `OneTrip.run`, a unit from its turn in the write queue to its answer
  (on SQLite the hand-over to aiosqlite's thread and back included); of which "on the
  database's side" is the unit run on that thread (SQLite only);
- the engine, inside the unit: the stored state read back, the transition, the state to
  store;
- PTB: `edit_message_text` and `answer_callback_query`, from the call to its result
  (building the request, the fake Bot API answering, reading the answer back); of which
  "the fake Bot API" is the fake's own answer, which a real one spends elsewhere;
- the card's text and buttons (`render.session.hold_card`).

Nothing else runs while an event is measured, so the parts are that event's own; what
is left of the event's CPU is the rest (the job queue, the poller, the flow's logic).

    python -m tests.bench.split_event [--event "hold start"] [--events 600]
        [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from telegram.ext import ExtBot

import bot.render.session as render_session
import bot.services.sessions as sessions
import storage.one_trip as one_trip
from tests.bench.databases import database_urls
from tests.bench.loops import run_on
from tests.bench.profile_event import event_kind, run_sessions
from tests.bench.solo import BenchWorld

# (owner, attribute, the part's name, whether it is a coroutine function).
_PARTS: tuple[tuple[Any, str, str, bool], ...] = (
    (one_trip.OneTrip, "run", "database units", True),
    (one_trip, "_run_sqlite", "  on the database's side (SQLite's thread)", False),
    (sessions, "_live", "  engine: the stored state read back", False),
    (sessions, "advance", "  engine: the transition", False),
    (sessions, "_change", "  engine: the state to store", False),
    (ExtBot, "edit_message_text", "PTB: edits", True),
    (ExtBot, "answer_callback_query", "PTB: tap answers", True),
    (BenchWorld, "answer", "  the fake Bot API's own answer", False),
    (render_session, "hold_card", "the hold card's text and buttons", False),
)


class _Split:
    """CPU seconds inside each part, counted while `measuring` is set. Calls of one part
    that overlap (the two phones' edits, gathered) count once, from the first's start to
    the last's end: the CPU of the process in that span."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.measuring = False
        self._open: dict[str, tuple[int, float]] = {}

    def _enter(self, name: str) -> None:
        depth, started = self._open.get(name, (0, time.process_time()))
        self._open[name] = (depth + 1, started)

    def _leave(self, name: str) -> None:
        depth, started = self._open[name]
        if depth > 1:
            self._open[name] = (depth - 1, started)
            return
        del self._open[name]
        self.spent[name] += time.process_time() - started

    def timed_async(self, name: str, call: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        @functools.wraps(call)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            if not self.measuring:
                return await call(*args, **kwargs)
            self._enter(name)
            try:
                return await call(*args, **kwargs)
            finally:
                self._leave(name)

        return timed

    def timed(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(call)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if not self.measuring:
                return call(*args, **kwargs)
            started = time.process_time()
            try:
                return call(*args, **kwargs)
            finally:
                self.spent[name] += time.process_time() - started

        return timed


@contextmanager
def _counting(split: _Split) -> Iterator[None]:
    """The parts wrapped for the run, put back after it."""
    originals = [(owner, attribute, getattr(owner, attribute)) for owner, attribute, *_ in _PARTS]
    try:
        for (owner, attribute, name, is_async), (_, _, call) in zip(
            _PARTS, originals, strict=True
        ):
            wrap = split.timed_async if is_async else split.timed
            setattr(owner, attribute, wrap(name, call))
        yield
    finally:
        for owner, attribute, call in originals:
            setattr(owner, attribute, call)


async def _split(url: str, database: str, kind: str, events: int) -> tuple[list[float], _Split]:
    split = _Split()
    cpu: list[float] = []

    async def measure(event: str, action: Awaitable[None]) -> None:
        if event != kind:
            await action
            return
        split.measuring = True
        started = time.process_time()
        try:
            await action
        finally:
            split.measuring = False
        cpu.append(time.process_time() - started)

    with _counting(split):
        await run_sessions(url, database, kind, events, measure)
    return cpu, split


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--event", type=event_kind, default="hold start", help="event type")
    parser.add_argument("--events", type=int, default=600, help="events of that type")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        for database, url in database_urls(args.databases, Path(folder)):
            cpu, split = run_on("asyncio", _split(url, database, args.event, args.events))
            count = len(cpu)
            print(
                f"{database}: {args.event}, {count} events, CPU mean {1000 * sum(cpu) / count:.3f}"
                f" ms (median {1000 * statistics.median(cpu):.3f} ms), of which:",
                flush=True,
            )
            for _owner, _attribute, name, _is_async in _PARTS:
                if name in split.spent:
                    print(f"  {name:<48} {1000 * split.spent[name] / count:6.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
