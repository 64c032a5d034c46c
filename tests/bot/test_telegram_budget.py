"""Telegram's budget: reservations counted per window, never timed.

Every test here reads the instants the budget hands out (on a hand-moved clock, or on
Redis's own clock) and counts them per window; nothing sleeps or measures speed.
"""

from __future__ import annotations

import logging
import os
import random
import uuid
from bisect import bisect_left
from collections.abc import Iterator

import pytest

from bot.budget.shared import GROUP_LIMIT, GROUP_PERIOD_SECONDS, RETRY_REDIS_SECONDS, Budget
from bot.budget.window import SlidingWindow
from bot.config import Settings
from tests.conftest import make_settings
from tests.e2e.tcp_relay import TcpRelay
from tests.harness import Person, running_bot

REDIS_URL = os.environ.get("TEST_REDIS_URL")
ANA = Person(101, "Ana", "ana")


class HandClock:
    """Seconds on a clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def most_in_any_window(instants: list[float], period: float) -> int:
    """The most instants any half-open window [t, t + period) holds, to the microsecond."""
    ordered = sorted(round(instant * 1_000_000) for instant in instants)
    span = round(period * 1_000_000)
    return max(bisect_left(ordered, start + span) - index for index, start in enumerate(ordered))


def reserved(window: SlidingWindow, clock: HandClock, count: int) -> list[float]:
    return [clock.now + window.reserve() for _ in range(count)]


def test_thirty_a_second_is_an_even_pace_that_never_puts_31_in_one_second() -> None:
    clock = HandClock()
    window = SlidingWindow(1, 1 / 30, clock)

    slots = reserved(window, clock, 100)

    assert most_in_any_window(slots, 1.0) == 30
    assert slots[0] == clock.now
    assert slots[-1] == pytest.approx(clock.now + 99 / 30)


def test_the_paid_tier_of_1000_a_second_holds_in_every_second_not_2000_in_the_first() -> None:
    clock = HandClock()
    window = SlidingWindow(1, 1 / 1000, clock)

    slots = reserved(window, clock, 3000)

    # PTB's bucket of 1,000 let a full bucket go at once and then 1,000 a second.
    assert most_in_any_window(slots, 1.0) <= 1000
    assert len([s for s in slots if s < clock.now + 1.0]) == 1000


def test_a_group_gets_20_at_once_and_then_none_until_a_minute_after_the_first() -> None:
    clock = HandClock()
    window = SlidingWindow(GROUP_LIMIT, GROUP_PERIOD_SECONDS, clock)

    slots = reserved(window, clock, 45)

    assert slots[:20] == [clock.now] * 20
    assert slots[20:40] == [clock.now + 60] * 20
    assert most_in_any_window(slots, 60.0) == 20


def test_arrivals_at_random_moments_never_exceed_the_limit_in_any_window() -> None:
    rng = random.Random(15)
    clock = HandClock()
    pace = SlidingWindow(1, 1 / 30, clock)
    group = SlidingWindow(20, 60.0, clock)
    paced, grouped = [], []
    for _ in range(3000):
        clock.now += rng.expovariate(60)  # twice the rate asked for, in bursts
        paced.append(clock.now + pace.reserve())
        grouped.append(clock.now + group.reserve())

    assert most_in_any_window(paced, 1.0) <= 30
    assert most_in_any_window(grouped, 60.0) <= 20
    # Served in the order they asked.
    assert paced == sorted(paced) and grouped == sorted(grouped)


async def test_without_redis_each_of_two_workers_keeps_half_the_rate() -> None:
    clock = HandClock()
    budget = Budget(30, workers=2, clock=clock)
    await budget.start()

    slots = [clock.now + await budget.overall() for _ in range(60)]
    group = [clock.now + await budget.group(-100) for _ in range(25)]

    assert most_in_any_window(slots, 1.0) == 15
    assert most_in_any_window(group, 60.0) == 10
    assert not budget.shared and budget.fallbacks == 0


# -- shared in Redis -----------------------------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail("REQUIRE_REDIS is set but TEST_REDIS_URL is not")
        pytest.skip("TEST_REDIS_URL is not set; see README")
    return REDIS_URL


@pytest.fixture
def namespace() -> str:
    # Each test its own keys: parallel runs on one Redis never meet.
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture
def relay(redis_url: str) -> Iterator[TcpRelay]:
    from urllib.parse import urlsplit

    parts = urlsplit(redis_url)
    relay = TcpRelay((parts.hostname or "127.0.0.1", parts.port or 6379))
    yield relay
    relay.close()


def through(relay: TcpRelay, redis_url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(redis_url)
    return parts._replace(netloc=f"127.0.0.1:{relay.port}").geturl()


async def test_two_workers_sharing_redis_never_send_more_than_the_rate_together(
    redis_url: str, namespace: str
) -> None:
    workers = [Budget(30, workers=2, redis_url=redis_url, namespace=namespace) for _ in "ab"]
    for budget in workers:
        await budget.start()
    try:
        slots = []
        # Uneven load: the first worker asks three times as often as the second.
        for turn in range(200):
            budget = workers[0] if turn % 4 else workers[1]
            slot, _ = await budget.reserve_shared("all", 1, 1 / 30)
            slots.append(slot / 1_000_000)
    finally:
        for budget in workers:
            await budget.close()

    # Together exactly the rate, not each worker's share of it.
    assert most_in_any_window(slots, 1.0) == 30
    assert slots == sorted(slots)
    assert slots[-1] - slots[0] == pytest.approx(199 / 30, abs=0.001)


async def test_a_group_window_in_redis_holds_20_a_minute_across_workers(
    redis_url: str, namespace: str
) -> None:
    workers = [Budget(30, redis_url=redis_url, namespace=namespace) for _ in "ab"]
    for budget in workers:
        await budget.start()
    try:
        slots = [
            (await workers[turn % 2].reserve_shared("chat:-100", 20, 60.0))[0] / 1_000_000
            for turn in range(45)
        ]
    finally:
        for budget in workers:
            await budget.close()

    assert most_in_any_window(slots, 60.0) == 20


async def test_a_redis_that_fails_during_acquire_loses_nothing_and_is_logged_once(
    redis_url: str, namespace: str, relay: TcpRelay, caplog: pytest.LogCaptureFixture
) -> None:
    clock = HandClock()
    budget = Budget(30, workers=2, redis_url=through(relay, redis_url), namespace=namespace)
    budget._clock = clock  # the retry interval on the test's clock
    await budget.start()
    caplog.set_level(logging.WARNING, logger="bot.budget.shared")
    try:
        shared = await budget.overall()
        relay.cut()
        during = [await budget.overall() for _ in range(40)]
        clock.now += RETRY_REDIS_SECONDS
        still_cut = await budget.overall()
        relay.restore()
        clock.now += RETRY_REDIS_SECONDS
        back = await budget.overall()
        after = await budget.overall()
    finally:
        await budget.close()

    assert shared == 0.0
    # Every reservation was answered: none raised, none was dropped.
    assert len(during) == 40 and still_cut >= 0
    assert budget.fallbacks == 41
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith("budget: Redis failed")
    assert "share of 15.0 messages a second" in warnings[0]
    assert warnings[1] == "budget: Redis answers again; the budget is shared"
    assert back >= 0 and after > 0  # the shared pace again: the second waits its turn


async def test_a_message_is_sent_when_redis_does_not_answer_at_all(tmp_path: object) -> None:
    # Nothing listens on port 9 of this machine: every reservation falls back.
    settings: Settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3", redis_url="redis://127.0.0.1:9/0"
    )
    async with running_bot(settings) as bot:
        await bot.say(ANA, "/start")
        [greeting] = bot.inbox(ANA.id)

    assert greeting.text.startswith("Hi Ana")
