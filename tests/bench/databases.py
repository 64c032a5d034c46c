"""Which PostgreSQL database the benches use: one setting for all of them."""

from __future__ import annotations

import os


def postgres_url() -> str | None:
    """BENCH_DATABASE_URL, else TEST_DATABASE_URL; None leaves PostgreSQL out.

    A bench empties that database. bench_workers, which makes fresh databases beside
    it, reads TEST_DATABASE_URL alone, as the end-to-end tests it drives do."""
    return os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")


# What a bench prints when it leaves PostgreSQL out.
SKIPPED = "skipped (set BENCH_DATABASE_URL or TEST_DATABASE_URL to include it)"
