"""Wakes of the session timers' poller on a busy loop ask the scheduler for no pile of runs.

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
from bot.timer_poller import poller_of
from tests.clock import RunningClock
from tests.harness import running_bot, wait_until

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
