"""Two webhook workers on one PostgreSQL database behind a round-robin forwarder.

Updates reach whichever worker is next, so a session's taps alternate between two
processes that share nothing but the database; reminders are claimed by whichever
worker wakes first, and a worker killed just after its claim is covered by the other.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from bot.playground.double import BotApiDouble
from routines.loader import load_library
from routines.plan import StepKind, build_plan
from storage.db import Database
from storage.models import Pair, ReminderRecipient, ReminderSlot, User
from tests.e2e.cards import card_key, new_message_steps, steps_of
from tests.e2e.two_workers import TwoWorkers, fresh_database, postgres_url, two_workers
from tests.fake_telegram import SentMessage
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


def _next(api: BotApiDouble, person: Person, seen: int, timeout: float = 15) -> SentMessage:
    """The first message the bot sends `person` after the `seen` they already had."""
    return api.wait_for_message(
        person.id,
        lambda m: api.world.bot_messages(person.id).index(m) >= seen,
        timeout=timeout,
    )


def _next_card(api: BotApiDouble, person: Person, seen: dict[Person, int]) -> SentMessage:
    """The next new message that is a setup, a switch or the summary (not a cue's)."""

    def wanted(message: SentMessage) -> bool:
        if api.world.bot_messages(person.id).index(message) < seen[person]:
            return False
        key = card_key(message.history[0]) if message.history else None
        return key is None or key[1] != "hold"

    card = api.wait_for_message(person.id, wanted, timeout=15)
    seen[person] = api.world.bot_messages(person.id).index(card) + 1
    return card


def test_a_quick_session_through_two_workers_shows_every_step_once_on_both_phones(
    double: BotApiDouble, tmp_path: Path
) -> None:
    postgres_url()
    api = double
    with two_workers(api, tmp_path, SESSION_TIME_SCALE="0.01") as pair:
        api.push_message(ANA, "/start")
        _next(api, ANA, 0)
        api.push_message(BEN, "/start")
        _next(api, BEN, 0)
        api.push_message(ANA, "/invite")
        link = _next(api, ANA, 1)
        token = re.search(r"\?start=([A-Za-z0-9_-]+)", link.text)
        assert token is not None
        api.push_message(BEN, f"/start {token.group(1)}")
        offer = _next(api, BEN, 1)
        api.push_tap(BEN, offer, "Accept")
        _next(api, ANA, 2)

        seen = {p: len(api.messages_of(p.id)) for p in (ANA, BEN)}
        api.push_message(ANA, "/stretch quick")
        seen[ANA] += 1  # "Asked Ben to join"
        invitation = _next(api, BEN, seen[BEN])
        seen[BEN] += 1
        api.push_tap(BEN, invitation, "Join")
        # Their first session: each reads the safety note and taps Got it first.
        for person in (ANA, BEN):
            note = _next(api, person, seen[person])
            seen[person] += 1
            assert note.text.startswith("<b>Before your first stretch together</b>")
            api.push_tap(person, note, "Got it")

        # New messages come for each setup and side switch, on both phones (a hold is
        # the card before it, edited; a cue's new hold card rings on one phone only).
        steps: list[tuple[str, str]] = []
        while True:
            cards = {p: _next_card(api, p, seen) for p in (ANA, BEN)}
            if all("How does your back feel?" in c.text for c in cards.values()):
                break
            keys = {p: card_key(c.text) for p, c in cards.items()}
            assert all(keys.values()), {p: c.text for p, c in cards.items()}
            stretch_a, stretch_b = (keys[p][0].split(" · ")[0] for p in (ANA, BEN))  # type: ignore[index]
            assert stretch_a == stretch_b
            steps.append((stretch_a, keys[ANA][1]))  # type: ignore[index]
            if "Tap Ready" in cards[ANA].text:
                for person, card in cards.items():
                    api.push_tap(person, card, "Ready")
        handled = pair.forwarder.handled_by()
        stopped = pair.stop_all()

    plan = build_plan(load_library()["quick"])
    assert steps == new_message_steps(plan)
    # Each hold showed on both phones once, in order: the card before it was edited
    # into it. (Two Readies at two workers at once: the hold's edits wait for the first
    # Ready's "is ready" edits, so none lands on a card already showing the hold.)
    holds = [s.index for s in plan.steps if s.kind is StepKind.HOLD]
    for person in (ANA, BEN):
        shown = steps_of(api.messages_of(person.id), plan)
        assert [n for n in shown if n in holds] == holds, shown
    # Nothing came after the last card: no step, no card, shown twice.
    assert [len(api.messages_of(p.id)) for p in (ANA, BEN)] == [seen[ANA], seen[BEN]]
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


async def _seed_reminders(url: str, due: datetime) -> None:
    """50 pairs in UTC, each with a daily slot at `due`'s minute, due now."""
    database = Database.connect(url)
    await database.migrate()
    before = due - timedelta(days=1)
    users, pairs, slots = [], [], []
    for index in range(REMINDED_PAIRS):
        low, high = _partners(index)
        for uid in (low, high):
            users.append(
                dict(
                    id=uid,
                    first_name=f"P{uid}",
                    username=None,
                    reachable=True,
                    created_at=before,
                    updated_at=before,
                )
            )
        pairs.append(
            dict(
                id=index + 1,
                user_low_id=low,
                user_high_id=high,
                timezone="UTC",
                swap_mode="per-exercise",
                created_at=before,
            )
        )
        slots.append(
            dict(
                pair_id=index + 1,
                local_time=due.time(),
                weekdays=127,
                next_due_at=due,
                created_at=before,
            )
        )
    async with database.engine.begin() as connection:
        for model, rows in ((User, users), (Pair, pairs), (ReminderSlot, slots)):
            await connection.execute(insert(model), rows)
        await connection.exec_driver_sql(
            "SELECT setval('pairs_id_seq', (SELECT max(id) FROM pairs))"
        )
    await database.dispose()


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


def _everyone_opened_the_bot(api: BotApiDouble) -> set[int]:
    """Every partner as one who once pressed Start, so the bot may write to them first."""
    everyone = {uid for index in range(REMINDED_PAIRS) for uid in _partners(index)}
    for uid in everyone:
        api.world.add_private_chat({"id": uid, "first_name": f"P{uid}"})
        api.world.opened.add(uid)
    return everyone


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
    postgres_url()
    with fresh_database("rem") as url:
        asyncio.run(_seed_reminders(url, _due_now()))
        _everyone_opened_the_bot(double)
        with two_workers(double, tmp_path, database_url=url) as pair:
            _wait_until_every_copy_is_sent(url)
            _assert_clean_exit(pair)

    counts = _reminders_per_partner(double)
    assert set(counts.values()) == {1}, counts
    assert all("Start now" in str(m.raw) for uid in counts for m in double.messages_of(uid))


def test_a_worker_killed_just_after_its_reminder_claim_is_covered_by_the_other_once(
    double: BotApiDouble, tmp_path: Path
) -> None:
    postgres_url()
    with fresh_database("kill") as url:
        asyncio.run(_seed_reminders(url, _due_now()))
        everyone = _everyone_opened_the_bot(double)
        # The first worker to claim is held at its first send, with the claim committed.
        double.park("sendMessage", everyone)
        env = {"REMINDER_TAKEOVER_SECONDS": str(TAKEOVER_SECONDS)}
        with two_workers(double, tmp_path, database_url=url, **env) as pair:
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
