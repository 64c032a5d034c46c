"""Benchmark: claiming the weekly recaps of many pairs due in the same minute.

    python -m tests.bench.bench_recap [--pairs 10000]

Builds the pairs (each with two sessions that week, both rated), all in Europe/Berlin
without slots, so every recap is due on Sunday at 18:00; then claims them as the
dispatcher does, 250 at a time (delivery row and two copies each, the pair's next
Sunday, the week's numbers read), until none is left; nothing is sent. Prints the total
and the time per pair, on SQLite and, when TEST_DATABASE_URL is set, PostgreSQL.
Nothing is asserted: the bench prints numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from bot.reminder_dispatch import CLAIM_BATCH
from bot.services import reminder_claims as service
from storage.db import Database
from storage.models import Pair, SessionRating, SessionResult, StretchSession, User
from tests.bench.databases import postgres_url
from tests.conftest import reset_postgres

BERLIN = ZoneInfo("Europe/Berlin")
SUNDAY = datetime(2026, 12, 6, 18, 0, tzinfo=BERLIN)
FRIDAY = datetime(2026, 12, 4, 10, 0, tzinfo=BERLIN)
TUESDAY = date(2026, 12, 1)


@dataclass
class _Resources:
    db: Database


async def _build(db: Database, pairs: int) -> None:
    now = FRIDAY
    async with db.engine.begin() as connection:
        await connection.execute(
            insert(User),
            [
                dict(id=10_000 + n, first_name=f"P{n}", reachable=True, created_at=now,
                     updated_at=now)
                for n in range(2 * pairs)
            ],
        )  # fmt: skip
        await connection.execute(
            insert(Pair),
            [
                dict(id=n + 1, user_low_id=10_000 + 2 * n, user_high_id=10_001 + 2 * n,
                     timezone="Europe/Berlin", swap_mode="per-exercise", created_at=now,
                     recap_due_at=SUNDAY)
                for n in range(pairs)
            ],
        )  # fmt: skip
        sessions: list[dict[str, Any]] = [
            dict(id=2 * n + k + 1, pair_id=n + 1, routine_id="quick",
                 seat_a_id=10_000 + 2 * n, seat_b_id=10_001 + 2 * n, origin_chat_id=1,
                 phase="finished", live=False, version=9, revision=0, deadline=None,
                 options={}, state={}, created_at=now, updated_at=now)
            for n in range(pairs)
            for k in range(2)
        ]  # fmt: skip
        await connection.execute(insert(StretchSession), sessions)
        await connection.execute(
            insert(SessionResult),
            [
                dict(id=s["id"], session_id=s["id"], pair_id=s["pair_id"], routine_id="quick",
                     end_reason="completed", holds_done=6, exercises_done=3,
                     seconds_stretched=180, local_date=TUESDAY + timedelta(days=s["id"] % 2),
                     ended_at=now)
                for s in sessions
            ],
        )  # fmt: skip
        await connection.execute(
            insert(SessionRating),
            [
                dict(result_id=s["id"], user_id=user, rating=3 + s["id"] % 3, rated_at=now)
                for s in sessions
                for user in (s["seat_a_id"], s["seat_b_id"])
            ],
        )


async def _run(url: str, pairs: int) -> None:
    db = Database.connect(url)
    try:
        await db.migrate()
        await _build(db, pairs)
        resources = _Resources(db)
        started = time.perf_counter()
        claimed = batches = 0
        while True:
            claim = await service.claim_recaps(resources, SUNDAY, CLAIM_BATCH)  # type: ignore[arg-type]
            claimed += len(claim.outgoing)
            batches += 1
            if claim.claimed < CLAIM_BATCH:
                break
        elapsed = time.perf_counter() - started
        print(
            f"{db.dialect}: {claimed} recaps claimed in {batches} batches of {CLAIM_BATCH}: "
            f"{elapsed:.2f} s, {1000 * elapsed / max(claimed, 1):.2f} ms a pair"
        )
    finally:
        await db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    args = parser.parse_args(sys.argv[1:] if __name__ == "__main__" else [])
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_run(f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}", args.pairs))
    url = postgres_url()
    if url:
        asyncio.run(reset_postgres(url))
        asyncio.run(_run(url, args.pairs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
