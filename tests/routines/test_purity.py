"""routines/ is the pure domain: importing it must not pull in Telegram or the database."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROUTINES = Path(__file__).resolve().parents[2] / "routines"


def test_no_routines_module_imports_telegram_or_sqlalchemy() -> None:
    modules = sorted(
        ".".join(("routines", *path.relative_to(ROUTINES).with_suffix("").parts))
        for path in ROUTINES.rglob("*.py")
        if path.name != "__init__.py"
    )
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r} + ['routines']:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'telegram', 'sqlalchemy'})\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROUTINES.parent,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert {"routines.loader", "routines.plan"} <= set(modules)


def test_the_engine_its_snapshot_and_the_plan_neither_read_the_clock_nor_do_io() -> None:
    forbidden = re.compile(
        r"\.now\(|\.utcnow\(|\.today\(|\btime\.time\b|\bmonotonic\b|\bopen\(|"
        r"^import (os|time|random|asyncio)\b|^from (os|time|random|asyncio|pathlib)\b",
        re.MULTILINE,
    )
    for name in ("engine.py", "snapshot.py", "plan.py", "model.py"):
        source = (ROUTINES / name).read_text(encoding="utf-8")
        assert not forbidden.findall(source), name
