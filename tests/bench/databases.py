"""Which databases the benches run on: SQLite files of their own, and PostgreSQL by one
setting for all of them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path


def postgres_url() -> str | None:
    """BENCH_DATABASE_URL, else TEST_DATABASE_URL; None leaves PostgreSQL out.

    A bench empties that database. bench_workers, which makes fresh databases beside
    it, reads TEST_DATABASE_URL alone, as the end-to-end tests it drives do."""
    return os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")


# What a bench prints when it leaves PostgreSQL out.
SKIPPED = "skipped (set BENCH_DATABASE_URL or TEST_DATABASE_URL to include it)"


def database_urls(names: str, folder: Path) -> Iterator[tuple[str, str]]:
    """Each database of a comma-separated `names` ("sqlite,postgresql") with its URL: a
    new SQLite file in `folder`, or `postgres_url()`; PostgreSQL is left out (and says
    so) when no URL is set."""
    for name in names.split(","):
        if name != "postgresql":
            yield name, f"sqlite+aiosqlite:///{folder / f'{name}.sqlite3'}"
            continue
        url = postgres_url()
        if url is None:
            print(f"postgresql: {SKIPPED}", flush=True)
            continue
        yield name, url
