"""Telegram's budget: reservations counted per window, never timed.

Every test here reads the instants the budget hands out (on a hand-moved clock, or on
Redis's own clock) and counts them per window; nothing sleeps or measures speed.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
from collections.abc import Iterator

import pytest

from bot.budget.shared import (
    GROUP_LIMIT,
    GROUP_PERIOD_SECONDS,
    RETRY_REDIS_SECONDS,
    Budget,
    group_limit,
)
from bot.budget.window import SlidingWindow, pace
from bot.config import Settings
from tests.bot.budget_helpers import HandClock, most_in_any_window, two_sharing
from tests.conftest import make_settings
from tests.e2e.tcp_relay import TcpRelay
from tests.harness import Person, running_bot

ANA = Person(101, "Ana", "ana")


def granted(window: SlidingWindow, clock: HandClock, count: int) -> list[float]:
    """`count` sends one after the other, each waiting as long as the window says."""
    instants = []
    for _ in range(count):
        while (wait := window.try_acquire()) > 0:
            clock.now += wait
        instants.append(clock.now)
    return instants


def test_thirty_a_second_goes_3_in_any_tenth_and_never_31_in_one_second() -> None:
    clock = HandClock()
    window = SlidingWindow(*pace(30), clock)

    sends = granted(window, clock, 100)

    assert pace(30) == (3, 0.1)
    assert most_in_any_window(sends, 1.0) == 30
    assert most_in_any_window(sends, 0.1) == 3
    assert sends[-1] == pytest.approx(1000 + 3.3)


def test_a_rate_without_a_divisor_goes_one_at_a_time() -> None:
    clock = HandClock()
    window = SlidingWindow(*pace(31), clock)

    sends = granted(window, clock, 100)

    assert pace(31) == (1, 1 / 31)
    assert most_in_any_window(sends, 1.0) == 31


def test_the_paid_tier_of_1000_a_second_holds_in_every_second_not_2000_in_the_first() -> None:
    clock = HandClock()
    window = SlidingWindow(*pace(1000), clock)

    sends = granted(window, clock, 3000)

    # PTB's bucket of 1,000 let a full bucket go at once and then 1,000 a second.
    assert most_in_any_window(sends, 1.0) == 1000
    assert len([s for s in sends if round(s, 6) < 1001.0]) == 1000
    # 100 in any 100 ms: no wake-up or round trip per 1 ms gap.
    assert pace(1000) == (100, 0.1)


def test_a_group_gets_20_at_once_and_then_none_until_a_minute_after_the_first() -> None:
    clock = HandClock()
    window = SlidingWindow(GROUP_LIMIT, GROUP_PERIOD_SECONDS, clock)

    sends = granted(window, clock, 45)

    assert sends[:20] == [1000.0] * 20
    assert sends[20:40] == [1060.0] * 20
    assert most_in_any_window(sends, 60.0) == 20


def test_senders_that_wake_late_never_bunch_into_more_than_the_limit() -> None:
    # Many senders at random moments, each waking up to 20 ms later than it was told
    # (a busy event loop): the window counts the sends when they go, not when planned.
    rng = random.Random(15)
    clock = HandClock()
    pace_window = SlidingWindow(*pace(30), clock)
    group_window = SlidingWindow(GROUP_LIMIT, GROUP_PERIOD_SECONDS, clock)
    sends: dict[str, list[float]] = {"pace": [], "group": []}
    asking: list[tuple[float, int, str]] = []
    arrival = clock.now
    for number in range(1500):
        arrival += rng.expovariate(60)  # twice the rate asked for, in bursts
        heapq.heappush(asking, (arrival, number, "pace" if number % 3 else "group"))
    while asking:
        at, number, kind = heapq.heappop(asking)
        clock.now = at
        window = pace_window if kind == "pace" else group_window
        wait = window.try_acquire()
        if wait > 0:
            heapq.heappush(asking, (at + wait + rng.uniform(0, 0.02), number, kind))
        else:
            sends[kind].append(at)

    assert len(sends["pace"]) == 1000 and len(sends["group"]) == 500
    assert most_in_any_window(sends["pace"], 1.0) == 30
    assert most_in_any_window(sends["group"], 60.0) == 20


async def test_without_redis_each_of_two_workers_keeps_half_the_rate() -> None:
    clock = HandClock()
    budget = Budget(30, workers=2, clock=clock, sleep=clock.sleep)
    await budget.start()

    sends = []
    for _ in range(60):
        await budget.acquire()
        sends.append(clock.now)
    group = []
    for _ in range(25):
        await budget.acquire(group_limit(-100))
        group.append(clock.now)

    assert most_in_any_window(sends, 1.0) == 15
    assert most_in_any_window(group, 60.0) == 10
    assert not budget.shared and budget.fallbacks == 0


# -- shared in Redis -----------------------------------------------------------------------


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
    limit, period = pace(300)
    sends: dict[int, list[float]] = {0: [], 1: []}
    async with two_sharing(redis_url, namespace, 300, workers=2) as workers:
        # Each worker asks as fast as it can, the first three times as often as the
        # second; a send counts at Redis's instant of the grant.
        for turn in itertools.count():
            which = 0 if turn % 4 else 1
            answer = await workers[which].try_shared()
            if answer.wait == 0:
                sends[which].append(answer.now / 1_000_000)
            if len(sends[0]) + len(sends[1]) == 450:
                break

    together = sends[0] + sends[1]
    # Together at most the rate, not each worker at its share or at the whole rate.
    assert most_in_any_window(together, 1.0) <= 300
    assert most_in_any_window(together, period) <= limit
    assert sends[0] and sends[1]


async def test_a_group_window_in_redis_holds_20_a_minute_across_workers(
    redis_url: str, namespace: str
) -> None:
    # At 1,000 a second the overall pace lets 100 through at once: only the group's
    # window can say no here.
    async with two_sharing(redis_url, namespace, 1000) as workers:
        tries = [await workers[turn % 2].try_shared(group_limit(-100)) for turn in range(30)]

    waits = [answer.wait for answer in tries]
    assert waits[:20] == [0] * 20
    # The 21st may go a minute after the first: that is what both workers are told.
    first_now = tries[0].now
    assert {answer.blocker for answer in tries[20:]} == {"chat"}
    assert {answer.now + answer.wait - first_now for answer in tries[20:]} == {60_000_000}


async def test_a_redis_that_fails_during_acquire_loses_nothing_and_is_logged_once(
    redis_url: str, namespace: str, relay: TcpRelay, caplog: pytest.LogCaptureFixture
) -> None:
    clock = HandClock()
    budget = Budget(
        30,
        workers=2,
        redis_url=through(relay, redis_url),
        namespace=namespace,
        clock=clock,
        sleep=clock.sleep,
    )
    await budget.start()
    caplog.set_level(logging.WARNING, logger="bot.budget.shared")
    try:
        await budget.acquire()
        relay.cut()
        during = []
        for _ in range(40):
            await budget.acquire()  # none raises: each is granted by the local share
            during.append(clock.now)
        relay.restore()
        clock.now += RETRY_REDIS_SECONDS
        await budget.acquire()
    finally:
        await budget.close()

    # While Redis was away the worker kept to its share: 15 a second.
    assert most_in_any_window(during, 1.0) == 15
    # Each of the 40, and each wait told in between, was answered by the local share.
    assert budget.fallbacks > 40
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith("budget: Redis failed")
    assert "share of 15.0 messages a second" in warnings[0]
    assert warnings[1] == "budget: Redis answers again; the budget is shared"


async def test_a_message_is_sent_when_redis_does_not_answer_at_all(tmp_path: object) -> None:
    # Nothing listens on port 9 of this machine: every reservation falls back.
    settings: Settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3", redis_url="redis://127.0.0.1:9/0"
    )
    async with running_bot(settings) as bot:
        await bot.say(ANA, "/start")
        [greeting] = bot.inbox(ANA.id)

    assert greeting.text.startswith("Hi Ana")
