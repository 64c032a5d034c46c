"""Two webhook workers on one PostgreSQL database behind a round-robin forwarder.

Updates reach whichever worker is next, so a session's taps alternate between two
processes that share nothing but the database; reminders are claimed by whichever
worker wakes first, and a worker killed just after its claim is covered by the other.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.playground.double import BotApiDouble
from storage.db import Database
from storage.models import ReminderRecipient
from tests.bulk_pairs import BulkPairs
from tests.conftest import postgres_or_skip
from tests.e2e.first_session import (
    assert_each_step_shown_once,
    pair_by_invite,
    start_first_quick_session,
    walk_cards,
)
from tests.e2e.two_workers import TwoWorkers, fresh_database, two_workers
from tests.harness import Person

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ANA = Person(601, "Ana")
BEN = Person(602, "Ben")
REMINDED_PAIRS = 50
# Small enough that the test does not wait the production 3 minutes; longer than a live
# worker takes to send what it claimed (100 messages at 30 a second, 3.4 s), or the other
# takes over copies still on their way and sends them again (measured: with 3 s, the
# second half of the partners got two).
TAKEOVER_SECONDS = 10
# Long enough for a takeover, a restart and 100 messages through the 30/s pace.
REMINDERS_WITHIN = 45.0
# How long a phone waits for the bot's next message.
WAIT = 15
# At 0.05 a hold lasts 1.5 s or more, so the cards that ring on a phone (a setup, a
# side switch) come more than a second apart, as Telegram allows in one chat.
TIME_SCALE = "0.05"


def test_a_quick_session_through_two_workers_shows_every_step_once_on_both_phones(
    double: BotApiDouble, tmp_path: Path
) -> None:
    postgres_or_skip()
    api = double
    with two_workers(api, tmp_path, SESSION_TIME_SCALE=TIME_SCALE) as pair:
        pair_by_invite(api, ANA, BEN, WAIT)
        seen = start_first_quick_session(api, ANA, BEN, WAIT)
        steps, _ = walk_cards(api, seen, WAIT)
        handled = pair.forwarder.handled_by()
        stopped = pair.stop_all()

    assert_each_step_shown_once(api, steps, seen)
    # The taps really went to both workers, turn about.
    assert all(count > 3 for count in handled.values()), handled
    senders = Counter(via for via, method in api.calls_via if method == "sendMessage")
    assert set(senders) == {"worker-a", "worker-b"}, senders
    for stop in stopped:
        assert stop.status == 0, stop.output
        assert "Traceback" not in stop.output


# -- reminders -----------------------------------------------------------------------------


def _partners(index: int) -> tuple[int, int]:
    return 700_000 + 2 * index, 700_000 + 2 * index + 1


def _reminded_pairs(due: datetime) -> BulkPairs:
    """50 pairs in UTC, each with a daily slot at `due`'s minute, due now."""
    rows = BulkPairs(created_at=due - timedelta(days=1))
    for index in range(REMINDED_PAIRS):
        pair_id = rows.add_pair(*_partners(index))
        rows.add_daily_slot(pair_id, due.time(), due)
    return rows


async def _copy_statuses(url: str) -> dict[str, int]:
    database = Database.connect(url)
    try:
        async with database.engine.connect() as connection:
            rows = await connection.execute(
                select(ReminderRecipient.status, func.count()).group_by(ReminderRecipient.status)
            )
            return {str(status): int(count) for status, count in rows}
    finally:
        await database.dispose()


def _wait_until_every_copy_is_sent(url: str, within: float = REMINDERS_WITHIN) -> None:
    """Until both copies of every reminder are marked sent: nothing is left to claim."""
    deadline = time.monotonic() + within
    statuses: dict[str, int] = {}
    while time.monotonic() < deadline:
        statuses = asyncio.run(_copy_statuses(url))
        if statuses == {"sent": 2 * REMINDED_PAIRS}:
            return
        time.sleep(0.2)
    raise AssertionError(f"copies after {within}s: {statuses}")


def _due_now() -> datetime:
    """This minute, on the minute: due already, well inside the grace window."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def _reminders_per_partner(api: BotApiDouble) -> Counter[int]:
    everyone = [uid for index in range(REMINDED_PAIRS) for uid in _partners(index)]
    return Counter({uid: len(api.messages_of(uid)) for uid in everyone})


def _assert_clean_exit(pair: TwoWorkers) -> None:
    for stop in pair.stop_all():
        assert stop.status == 0, stop.output
        assert "Traceback" not in stop.output


def test_reminders_due_in_one_minute_for_50_pairs_reach_each_partner_once_across_two_workers(
    double: BotApiDouble, tmp_path: Path
) -> None:
    postgres_or_skip()
    with fresh_database("rem") as url:
        reminded = _reminded_pairs(_due_now())
        asyncio.run(reminded.write(url))
        reminded.open_chats(double.world)
        with two_workers(double, tmp_path, database_url=url) as pair:
            _wait_until_every_copy_is_sent(url)
            _assert_clean_exit(pair)

    counts = _reminders_per_partner(double)
    assert set(counts.values()) == {1}, counts
    assert all("Start now" in str(m.raw) for uid in counts for m in double.messages_of(uid))


def test_a_worker_killed_just_after_its_reminder_claim_is_covered_by_the_other_once(
    double: BotApiDouble, tmp_path: Path
) -> None:
    postgres_or_skip()
    with fresh_database("kill") as url:
        reminded = _reminded_pairs(_due_now())
        asyncio.run(reminded.write(url))
        reminded.open_chats(double.world)
        everyone = reminded.user_ids
        # The first worker to claim is held at its first send, with the claim committed.
        double.park("sendMessage", everyone)
        takeover = str(TAKEOVER_SECONDS)
        with two_workers(
            double, tmp_path, database_url=url, REMINDER_TAKEOVER_SECONDS=takeover
        ) as pair:
            double.wait_for_parked(1)
            claimer = pair.worker(double.parked_via[0])
            claimer.kill()
            # Its connections close unanswered: Telegram never carried those sends out.
            double.drop_parked()
            claimer.start()
            claimer.wait_until_healthy()
            _wait_until_every_copy_is_sent(url)
            _assert_clean_exit(pair)

    counts = _reminders_per_partner(double)
    assert set(counts.values()) == {1}, counts
    # Everything the killed worker had claimed went out from a worker alive after it.
    assert claimer.starts == 2
