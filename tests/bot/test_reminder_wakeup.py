"""The dispatcher on a running job queue: nobody ticks it by hand, nothing sets PTB's flags.

The application is started as `python -m bot` starts it (`app.start()`, the real
APScheduler). Where the scheduler must meet the bot's clock, the clock is a
`RunningClock`: wall time shifted to the instant the test needs, so a wait the
dispatcher asks for on its clock is the same wait on the scheduler's. It is held still
while the bot starts, so what the start-up tick sees does not depend on how fast the
machine is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_MODIFIED, JobEvent  # type: ignore[import-untyped]
from telegram.ext import Application, JobQueue

from bot.config import Settings
from bot.reminder_dispatch import SAFETY_NET, ReminderDispatcher, dispatcher_job
from tests.bot.test_reminders import (
    ANA,
    BEN,
    berlin,
    deliveries_of,
    pair_up,
    pair_with_reminders,
    reminders_in,
)
from tests.clock import RunningClock
from tests.conftest import make_settings
from tests.harness import BotHarness, running_bot, wait_until


def _dispatcher(bot: BotHarness) -> ReminderDispatcher:
    dispatcher = dispatcher_job(bot.app).data
    assert isinstance(dispatcher, ReminderDispatcher)
    return dispatcher


async def test_the_dispatcher_ticks_at_start_up_not_a_minute_later(bot: BotHarness) -> None:
    started = datetime.now(UTC)  # the application was started before the test began
    dispatcher = _dispatcher(bot)

    async def ticked() -> bool:
        return dispatcher.runs >= 1

    await wait_until(ticked, what="the first tick")

    # After a run the interval job is due one interval after the instant that run was
    # scheduled for: that instant was the start-up, not a minute after it.
    job = dispatcher_job(bot.app)
    assert job.next_t is not None
    assert job.next_t - SAFETY_NET <= started


async def test_a_new_slot_due_within_the_minute_moves_the_running_job_to_its_instant(
    bot: BotHarness,
) -> None:
    dispatcher = _dispatcher(bot)

    async def ticked() -> bool:
        return dispatcher.runs >= 1

    await wait_until(ticked, what="the first tick")
    await pair_up(bot)
    job = dispatcher_job(bot.app)
    bot.clock.set(berlin(2026, 11, 2, 10, 4, 30))

    before = datetime.now(UTC)
    await bot.say(ANA, "/remind 10:05")
    after = datetime.now(UTC)

    # Due 30 s from now on the bot's clock: the job runs 30 s after it was armed.
    assert job.next_t is not None
    assert before + timedelta(seconds=30) <= job.next_t <= after + timedelta(seconds=30)


async def test_on_a_running_job_queue_a_reminder_goes_out_at_its_minute(
    settings: Settings,
) -> None:
    clock = RunningClock(berlin(2026, 11, 2, 9, 0))
    async with running_bot(settings, clock, reminders_held=True) as first:
        pair = await pair_with_reminders(first, "10:05")
    due = berlin(2026, 11, 2, 10, 5).astimezone(UTC)
    lead = timedelta(seconds=1.5)
    # The bot's clock stands 1.5 s before the slot for as long as the start takes.
    clock.hold(due - lead)
    moves: list[tuple[datetime, datetime]] = []

    def listen(app: Application[Any, Any, Any, Any, Any, JobQueue[Any]]) -> None:
        """Note each move of the dispatcher's job: where it went, and when it was moved."""
        job = dispatcher_job(app)

        def moved(event: JobEvent) -> None:
            if event.job_id == job.job.id and job.next_t is not None:
                moves.append((job.next_t, datetime.now(UTC)))

        assert app.job_queue is not None
        app.job_queue.scheduler.add_listener(moved, EVENT_JOB_MODIFIED)

    started = datetime.now(UTC)
    async with running_bot(settings, clock, first.world, before_start=listen) as bot:

        async def armed() -> bool:
            return _dispatcher(bot).runs >= 1

        await wait_until(armed, what="the start-up tick")
        # The start-up tick found nothing due and moved the job to the slot's instant:
        # `lead` after it ran, on the scheduler's clock (the wall clock).
        assert await deliveries_of(bot, pair) == []
        assert moves, "the start-up tick left the job a minute away"
        wake, moved_at = moves[0]
        assert started + lead <= wake <= moved_at + lead

        # Let the bot's clock run again, reaching the slot's instant as the job wakes.
        clock.run_from(due, wall=wake)

        async def marked() -> bool:
            deliveries = await deliveries_of(bot, pair)
            return bool(deliveries) and deliveries[0].status != "claimed"

        await wait_until(marked, what="the reminder sent and marked")

        sends = [
            call.at
            for call in bot.world.calls_of("sendMessage")
            if call.params["text"].startswith("⏰")
        ]
        assert len(sends) == 2
        assert len(reminders_in(bot, ANA)) == len(reminders_in(bot, BEN)) == 1
        # Measured on the clock the dispatcher reads: at its minute, never before it.
        assert min(sends) >= due.timestamp()
        assert [d.status for d in await deliveries_of(bot, pair)] == ["sent"]


async def test_a_bot_started_16_s_after_a_due_time_sends_it_within_a_one_minute_grace(
    sqlite_url: str,
) -> None:
    settings = make_settings(sqlite_url, reminder_grace_minutes=1)
    clock = RunningClock(berlin(2026, 11, 2, 9, 0))
    async with running_bot(settings, clock, reminders_held=True) as first:
        pair = await pair_with_reminders(first, "10:05")
    # The bot was down over 10:05 and comes back 16 s later.
    clock.set(berlin(2026, 11, 2, 10, 5, 16))

    async with running_bot(settings, clock, first.world) as bot:

        async def decided() -> bool:
            deliveries = await deliveries_of(bot, pair)
            return bool(deliveries) and deliveries[0].status != "claimed"

        await wait_until(decided, what="the 10:05 reminder to be sent or skipped")

        assert [d.status for d in await deliveries_of(bot, pair)] == ["sent"]
        assert len(reminders_in(bot, ANA)) == 1
        assert len(reminders_in(bot, BEN)) == 1
