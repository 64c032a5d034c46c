"""`python -m tests.bench`: run every `bench_*.py` module's `main()` here, in turn.

Each bench is followed by the minutes it took and the machine's load average at its start
and end: on this project's 2-core machines a figure measured at a load above 2 was set by
other work as much as by the bot.
"""

from __future__ import annotations

import importlib
import io
import os
import sys
import time
import traceback
from pathlib import Path


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> int:
    if sys.argv[1:]:
        print("usage: python -m tests.bench  (run one bench with its own options instead:")
        print("       python -m tests.bench.bench_capacity --help)")
        return 2
    # Every line as it is printed, also into a pipe or a file: a bench runs for minutes.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    failed = []
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        name = f"{__package__}.{path.stem}"
        at_start = _load()
        print(f"== {name} (load average {at_start})", flush=True)
        started = time.monotonic()
        try:
            code = importlib.import_module(name).main()
        except Exception:
            traceback.print_exc()
            code = 1
        if code:
            failed.append(name)
        minutes = (time.monotonic() - started) / 60
        print(
            f"== {name}: {minutes:.1f} min, load average {at_start} at its start,"
            f" {_load()} at its end{'' if not code else ', did not finish cleanly'}",
            flush=True,
        )
        print(flush=True)
    if failed:
        print(f"did not finish cleanly: {', '.join(failed)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
