"""`python -m tests.bench`: run every `bench_*.py` module's `main()` here, in turn."""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path


def main() -> int:
    if sys.argv[1:]:
        print("usage: python -m tests.bench  (run one bench with its own options instead:")
        print("       python -m tests.bench.bench_capacity --help)")
        return 2
    failed = []
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        name = f"{__package__}.{path.stem}"
        print(f"== {name}", flush=True)
        try:
            code = importlib.import_module(name).main()
        except Exception:
            traceback.print_exc()
            code = 1
        if code:
            failed.append(name)
        print(flush=True)
    if failed:
        print(f"did not finish cleanly: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
