"""The one job that carries out session timers in this worker: the local poller.

Every session timer is a row in the database (bot/session_timers.py says when, the
sessions service writes it with the state that armed it). Each worker runs this one job:
it claims what is due (any worker's timers: the first to poll takes them), carries each
out through bot/session_flow.py, and wakes again at the next instant it knows of, or
after the poll interval at the latest, so a timer armed by a worker that died is carried
out by another within about one interval. A claim is a lease (TIMER_LEASE): a worker
killed while it holds a timer delays that timer by the lease, and never strands it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Bot
from telegram.ext import Application, Job, JobQueue

from bot.config import Settings
from bot.context import BotData, Context
from bot.services import timer_claims
from bot.session_flow import SessionFlow
from storage.records import TimerRecord

log = logging.getLogger(__name__)

JOB_NAME = "session-timers"
# Claimed together; each timer is then carried out in a task of its own while the poller
# goes on (as one job a timer was): a Telegram call that hangs for its 5 s timeout delays
# its own timer, not the others. No cap on how many run: a timer waiting for a free slot
# would spend its lease waiting; Telegram's pace is the rate limiter's part.
CLAIM_BATCH = 64
# Longer than carrying out a timer takes, even behind the rate limiter and a 5 s timeout
# or two (another worker would carry it out again); shorter than LATE_LIMIT
# (bot/session_flow.py), so a timer taken over from a worker that died holding it still
# moves its session on instead of pausing it.
TIMER_LEASE = timedelta(seconds=30)
# Polling floor: a rehearsal at SESSION_TIME_SCALE 0.01 must not poll the database
# hundreds of times a second.
MIN_POLL_SECONDS = 0.05
# A run asked for that has not started after this long was dropped by the scheduler (or
# the loop is that far behind): a wake asks for another instead of counting on it.
ASKED_STALE = timedelta(seconds=1)
# A poll that could not start on time (a busy loop, a slow database) still runs.
MISFIRE_GRACE_SECONDS = 3600


def poll_interval(settings: Settings) -> float:
    """Seconds between two polls when nothing local is due (TIMER_POLL_SECONDS).

    The poll is what finds a timer armed by another worker that died, so the interval
    is how late such a timer can be. A second keeps that within Telegram's own jitter
    and costs each worker one indexed read a second. Rehearsals shorten holds by
    SESSION_TIME_SCALE; the interval shrinks with them (down to MIN_POLL_SECONDS) so a
    takeover stays small next to a hold.
    """
    scale = min(1.0, settings.session_time_scale)
    return max(MIN_POLL_SECONDS, settings.timer_poll_seconds * scale)


class TimerPoller:
    """Claims and carries out due session timers; one per process, kept as its job's data."""

    def __init__(self, app: Application[Any, Any, Any, Any, BotData, Any]) -> None:
        self.app = app
        self.bot: Bot = app.bot
        self.data = app.bot_data
        self.job: Job[Any] | None = None
        # The next instant a timer may be claimed, on the bot's clock, as last seen in the
        # database or armed here (tests move their clock to it and run the job).
        self.due_at: datetime | None = None
        # One poll at a time; one asked for meanwhile makes the running one go again.
        self._lock = asyncio.Lock()
        self._again = False
        # The soonest instant armed here while a poll ran: the poll's own view (its
        # claim's) may be older.
        self._woken: datetime | None = None
        # The wall-clock instant of a run asked of the scheduler that has not started
        # yet: a wake before it starts needs no run of its own (see `_schedule`).
        self._asked: datetime | None = None
        self.polls = 0
        self.carried = 0

    async def poll(self, *, wait: bool = True, read: bool = True) -> int:
        """Claim every timer due now and carry each out; the number claimed comes back.

        With `wait` (start-up, tests) it returns once they were carried out and knows the
        next instant due (`read` False: knows it as the job's poll does, from the claim
        and the wakes of what the timers armed, with no read at the end); the job does
        not wait: the sessions' tasks go on, and each wakes the poller for what it arms.
        A poll asked for while one claims (the job woken again, a wake) does not wait for
        it either: it asks the running one for another round and returns, so the
        scheduler never skips a run for having too many.
        """
        self._asked = None
        if self._lock.locked():
            self._again = True
            return 0
        claimed = 0
        started: list[asyncio.Task[None]] = []
        async with self._lock:
            self._woken = None
            # The next instant as last read or armed here: when it is due, the poll
            # claims at once (a round asked for meanwhile reads, as every other does).
            known = self.due_at
            while True:
                self._again = False
                # A read first: most polls find nothing due, and a claim is a write (on
                # SQLite it queues for the one writer's lock). A claim says when the
                # next row is free, so a poll that claimed reads no more.
                guessed = known is not None and known <= self.data.clock.now()
                due = known if guessed else await timer_claims.soonest(self.data)
                known = None
                while due is not None and due <= self.data.clock.now():
                    taken = await timer_claims.claim(self.data, TIMER_LEASE, CLAIM_BATCH)
                    batch = list(taken.timers)
                    if not batch and guessed:
                        # What was known is gone (carried out by another worker, or moved
                        # on by its session): the table says what is next.
                        guessed = False
                        due = await timer_claims.soonest(self.data)
                        continue
                    now = self.data.clock.now()
                    for timer in batch:
                        late = (now - timer.due_at).total_seconds()
                        self.data.metrics.timer_claimed(timer.lane, late)
                    started += self._start(batch)
                    claimed += len(batch)
                    # None: nothing taken (another worker was claiming the rows due);
                    # the next poll finds what it left.
                    due = taken.next_due
                    if len(batch) < CLAIM_BATCH:
                        break
                if not self._again:
                    break
            self.polls += 1
            self.carried += claimed
            if self._woken is not None and (due is None or self._woken < due):
                due = self._woken
        if wait and read:
            # What the timers carried out armed is in the table now: read it. Without
            # waiting, each timer's task wakes the poller for what it arms.
            await asyncio.gather(*started)
            due = await timer_claims.soonest(self.data)
        self.due_at = due
        self._schedule(self.due_at)
        if wait and not read:
            await asyncio.gather(*started)
        return claimed

    def _start(self, batch: list[TimerRecord]) -> list[asyncio.Task[None]]:
        # One task a timer, as one job a timer was: a countdown edit waiting out a 5 s
        # timeout must not hold up the end of its own hold. A lane's row is claimed
        # again only once its carry-out moved it on (or its lease ran out), so one lane
        # of one session is never carried out twice at once.
        return [self._spawn(self._carry_out(timer)) for timer in batch]

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        if self.app.running:
            # A stopping application waits for the tasks it made (a drain).
            return self.app.create_task(work)
        # At start-up, before the application runs: `poll` waits for these itself.
        return asyncio.create_task(work)

    async def _carry_out(self, timer: TimerRecord) -> None:
        try:
            await SessionFlow(self.bot, self.data).carry_out(timer)
        except Exception:
            # Its row stays claimed: this or another worker tries again once the lease
            # is over. The other timers go on.
            log.exception("session %s: its %s timer failed", timer.session_id, timer.lane)

    def wake(self, due: datetime) -> None:
        """A timer was armed here for `due`: poll then, if that is sooner than planned."""
        if self.due_at is None or due < self.due_at:
            self.due_at = due
        if self._lock.locked() and (self._woken is None or due < self._woken):
            self._woken = due
        self._schedule(due)

    def _schedule(self, due: datetime | None) -> None:
        """Move the job's next run to `due` if that is sooner; the interval stays the cap.

        `due` is on the bot's clock and the scheduler runs on the wall clock, so the wait
        is carried over, not the instant. A paused job (no next run) stays paused.

        No run is asked for while one polls (it reads `_woken` and schedules itself at
        its end) or while a run asked for no later than `due` has yet to start: on a
        busy loop every timer's task wakes the poller, and runs asked for faster than
        the loop starts them would pile up past the job's `max_instances`, which the
        scheduler logs as a warning for each one it skips.
        """
        job = self.job
        if due is None or job is None or job.removed or job.next_t is None:
            return
        delay = max(0.0, (due - self.data.clock.now()).total_seconds())
        now = datetime.now(UTC)
        when = now + timedelta(seconds=delay)
        if self._lock.locked():
            return
        asked = self._asked
        if asked is not None and asked <= when and now - asked < ASKED_STALE:
            return
        if when < job.next_t:
            job.job.modify(next_run_time=when)
            self._asked = when


async def _run_poll(context: Context) -> None:
    job = context.job
    assert job is not None and isinstance(job.data, TimerPoller)
    await job.data.poll(wait=False)


def install(app: Application[Any, Any, Any, Any, BotData, JobQueue[Any]]) -> TimerPoller:
    """Make this process's poller; start-up polls it once, then `start` schedules it."""
    poller = TimerPoller(app)
    app.bot_data.timer_waker = poller
    return poller


def start(
    app: Application[Any, Any, Any, Any, BotData, JobQueue[Any]], poller: TimerPoller
) -> Job[Any]:
    """Schedule the poller: every poll interval, and earlier whenever a timer is due."""
    job_queue = app.job_queue
    if job_queue is None:
        raise RuntimeError("the job queue is missing: install python-telegram-bot[job-queue]")
    poller.job = job_queue.run_repeating(
        _run_poll,
        interval=poll_interval(app.bot_data.settings),
        name=JOB_NAME,
        data=poller,
        job_kwargs={
            # As the reminder dispatcher: an explicit first run time, at once.
            "next_run_time": datetime.now(UTC),
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            "coalesce": True,
            # A run started while one polls returns at once (see `poll`).
            "max_instances": 3,
        },
    )
    return poller.job


def poller_of(app: Application[Any, Any, Any, Any, BotData, JobQueue[Any]]) -> TimerPoller:
    """This process's poller, for tests and tools that poll by hand."""
    waker = app.bot_data.timer_waker
    assert isinstance(waker, TimerPoller)
    return waker
