"""The session timers' poller: when it reads, and how its wakes ask for runs.

Every timer's task wakes the poller for what it armed. On a loop that starts tasks late
(a busy process), runs asked for faster than they start used to pile up past the job's
`max_instances`, and APScheduler logged a warning for each run it skipped.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.config import Settings
from bot.services import timer_claims
from bot.timer_poller import poller_of
from tests.bot.session_helpers import (
    ANA,
    card_of,
    into_first_hold,
    pair_in_database,
    through_get_set,
)
from tests.clock import RunningClock
from tests.harness import BotHarness, running_bot, wait_until

SKIPPED = "maximum number of running instances"


def _busy(seconds: float) -> None:
    """Hold the loop, as a process busy with other updates does between two turns."""
    time.sleep(seconds)


async def test_wakes_on_a_busy_loop_pile_no_runs_and_the_poller_still_polls(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    clock = RunningClock()
    async with running_bot(settings, clock) as bot:
        poller = poller_of(bot.app)

        async def polled() -> bool:
            return poller.polls >= 1

        await wait_until(polled, what="the poller's first run")
        before = poller.polls
        with caplog.at_level(logging.WARNING, logger="apscheduler"):
            for _ in range(300):
                poller.wake(clock.now())
                _busy(0.002)
                await asyncio.sleep(0)

            async def polled_again() -> bool:
                return poller.polls > before

            await wait_until(polled_again, what="a poll after the wakes")

    assert not [r for r in caplog.records if SKIPPED in r.getMessage()]


async def test_a_poll_for_an_instant_gone_stale_reads_the_next_one_and_keeps_it(
    bot: BotHarness,
) -> None:
    """A poll for an instant it knows is due claims at once, without reading first. When
    that instant's timer moved meanwhile (here the hold was paused, so its end went to
    the pause's limit), the claim takes nothing: the poll reads the table, and is next
    due when the table says, not at its idle interval's whim."""
    await pair_in_database(bot)
    await into_first_hold(bot)
    await through_get_set(bot)
    poller = poller_of(bot.app)
    hold_ends = poller.due_at
    assert hold_ends is not None and hold_ends > bot.clock.now()

    assert await bot.press(ANA, card_of(bot, ANA), "Pause") is not None
    timers = await timer_claims.of_session(bot.app.bot_data, 1)
    assert timers and min(t.due_at for t in timers) > hold_ends
    assert poller.due_at == hold_ends  # a wake only ever brings the poll forward

    bot.clock.set(hold_ends)
    # As the job polls (the tests' `poll()` waits, and reads the table at its end).
    assert await poller.poll(wait=False) == 0
    assert poller.due_at == await timer_claims.soonest(bot.app.bot_data)
    assert poller.due_at is not None and poller.due_at > hold_ends
