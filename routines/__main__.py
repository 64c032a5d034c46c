"""`python -m routines check [FILE...]`: validate routine files before the bot loads them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from routines.loader import LIBRARY_DIR, RoutineFileError, load_routine
from routines.plan import build_plan


def check(paths: Sequence[Path]) -> tuple[list[str], bool]:
    """One line per file, and whether every file was fine."""
    lines: list[str] = []
    all_ok = True
    for path in paths:
        try:
            routine = load_routine(path)
        except RoutineFileError as error:
            lines.append(f"error {error}")
            all_ok = False
            continue
        minutes = build_plan(routine).estimated_minutes
        lines.append(f"ok {path.name}: {len(routine.exercises)} exercises, ~{minutes} min")
    return lines, all_ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m routines")
    commands = parser.add_subparsers(dest="command", required=True)
    check_parser = commands.add_parser("check", help="validate routine files")
    check_parser.add_argument(
        "files", nargs="*", type=Path, help="routine files (default: the whole library)"
    )
    args = parser.parse_args(argv)
    files: list[Path] = args.files or sorted(LIBRARY_DIR.glob("*.toml"))
    if not files:
        print(f"error {LIBRARY_DIR}: holds no routine files (*.toml)")
        return 1
    lines, all_ok = check(files)
    for line in lines:
        print(line)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
