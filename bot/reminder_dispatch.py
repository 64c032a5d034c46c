"""The one job that sends every daily reminder, and every pair's weekly recap.

It runs at start-up, then once a minute as a safety net, and is moved earlier to wake at
the next due instant (a slot, a snooze, a retry of a failed copy). Each tick claims due
work in small committed batches (see `bot.services.reminder_claims` for why that makes each
partner's copy go out once), sends each batch, marks it, and claims the next, until
nothing is due.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, RetryAfter
from telegram.ext import Application, Job, JobQueue

from bot.context import BotData, Context
from bot.delivery import send_private
from bot.render import recap as render_recap
from bot.render import reminders as render
from bot.services import reminder_claims as service
from bot.services.resources import Resources
from routines.model import Routine
from routines.plan import build_plan

log = logging.getLogger(__name__)

JOB_NAME = "reminder-dispatch"
SAFETY_NET = timedelta(minutes=1)
# Claimed together, then sent: small enough that a batch is out long before
# `RECLAIM_AFTER` even at 30 messages a second (250 pairs, 500 messages, ~17 s).
CLAIM_BATCH = 250
# Reminders sent at once; the rate limiter spaces them, this bounds what is in flight.
SEND_CHUNK = 25
# A tick that could not start on time (a busy loop, a slow database) still runs.
MISFIRE_GRACE_SECONDS = 120
MIN_WAKE_SECONDS = 1.0
DEFAULT_ROUTINE = "lower-back"

Claimer = Callable[[Resources, datetime, int], Awaitable[service.Claim]]


@dataclass(slots=True)
class TickReport:
    claimed: int = 0
    sent: int = 0
    messages: int = 0


def pitch_of(library: Mapping[str, Routine], routine_id: str = DEFAULT_ROUTINE) -> render.Pitch:
    """What a reminder suggests: a routine (the bot's default unless named), its size and
    rough length."""
    routine = (
        library.get(routine_id) or library.get(DEFAULT_ROUTINE) or next(iter(library.values()))
    )
    plan = build_plan(routine)
    return render.Pitch(routine.title, len(routine.exercises), plan.estimated_minutes)


class ReminderDispatcher:
    """Claims, sends and marks reminders; one per process, kept as its job's data."""

    def __init__(
        self, pitch: render.Pitch, pitches: Mapping[str, render.Pitch] | None = None
    ) -> None:
        self.pitch = pitch
        # By routine id: a pair that chose its own default routine (/settings) is pitched
        # the routine its Start button begins.
        self.pitches = dict(pitches or {})
        # A tick asked for while one runs (a test, or an early wake) waits its turn.
        self._lock = asyncio.Lock()
        # Runs of the job finished (ticked and woken again), for tests and tools that
        # wait for it to run on its own.
        self.runs = 0

    async def tick(self, bot: Bot, data: BotData) -> TickReport:
        """Send everything due now: copies to retry or take over, then snoozes, then slots."""
        report = TickReport()
        async with self._lock:
            claimers: tuple[Claimer, ...] = (
                service.claim_copies,
                service.claim_snoozes,
                service.claim_due,
                service.claim_recaps,
            )
            for claim in claimers:
                while True:
                    batch = await claim(data, data.clock.now(), CLAIM_BATCH)
                    report.claimed += batch.claimed
                    await self.send(bot, data, batch.outgoing, report)
                    if batch.claimed < CLAIM_BATCH:
                        break
        if report.claimed:
            log.info(
                "reminders: %d claimed, %d sent (%d messages)",
                report.claimed,
                report.sent,
                report.messages,
            )
        return report

    async def send(
        self,
        bot: Bot,
        data: BotData,
        outgoing: list[service.Outgoing],
        report: TickReport | None = None,
    ) -> None:
        """Send claimed reminders a chunk at a time, marking each chunk once it is out."""
        for start in range(0, len(outgoing), SEND_CHUNK):
            chunk = outgoing[start : start + SEND_CHUNK]
            results = await asyncio.gather(*(self._send_one(bot, item) for item in chunk))
            await service.record_sends(data, results, data.clock.now())
            data.metrics.reminders_sent(results, data.clock.now())
            if report is not None:
                report.sent += sum(1 for r in results if r.reached)
                report.messages += sum(len(r.reached) for r in results)

    def _message(self, item: service.Outgoing, member: int) -> tuple[str, InlineKeyboardMarkup]:
        """What one partner's copy says: the reminder, or the weekly recap."""
        pair = item.pair
        partner = pair.partner_of(member)
        if item.recap_of is not None:
            assert item.recap is not None  # read by the claim
            text = render_recap.recap(item.recap, member, partner, item.names.get(partner))
            return text, render_recap.recap_keyboard(pair.id)
        chosen = pair.default_routine
        pitch = self.pitches.get(chosen, self.pitch) if chosen else self.pitch
        text = render.reminder(item.names.get(partner), pitch, again=item.again)
        return text, render.reminder_keyboard(pair.id, item.delivery_id, again=item.again)

    async def _send_one(self, bot: Bot, item: service.Outgoing) -> service.SendResult:
        """Send the copies `item` is for, at once; each answer is kept apart."""
        pair = item.pair
        result = service.SendResult(item)
        members = list(item.to)
        answers = await asyncio.gather(
            *(send_private(bot, member, *self._message(item, member)) for member in members),
            return_exceptions=True,
        )
        for member, answer in zip(members, answers, strict=True):
            if isinstance(answer, Message):
                result.reached.append(member)
                result.message_ids[member] = answer.message_id
            elif answer is None:
                result.unreachable.append(member)
            elif isinstance(answer, BadRequest):
                # Telegram refused the request itself: the same request would fail again.
                log.warning("reminder %s to user %s refused: %s", item.delivery_id, member, answer)
                result.refused.append(member)
            else:
                log.warning("reminder %s to user %s failed: %r", item.delivery_id, member, answer)
                asked = answer.retry_after if isinstance(answer, RetryAfter) else 0
                result.failed[member] = _seconds(asked)
        for member in result.told_of_unreachable():
            partner = item.names.get(pair.partner_of(member))
            await _quietly(send_private(bot, member, render.partner_unreachable(partner)))
        return result


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def _quietly(sending: Awaitable[Message | None]) -> None:
    try:
        await sending
    except Exception as error:  # the reminder itself went out; the note is best-effort
        log.warning("could not send a note about an unreachable partner: %r", error)


async def _run_tick(context: Context) -> None:
    """The job's callback: one tick, then wake again when the next thing is due."""
    job = context.job
    assert job is not None and isinstance(job.data, ReminderDispatcher)
    try:
        await job.data.tick(context.bot, context.bot_data)
    finally:
        due = await service.soonest_due(context.bot_data)
        arm(job, context.bot_data, due)
        job.data.runs += 1


def arm(job: Job[Any], data: BotData, due: datetime | None) -> None:
    """Run the job at `due` if that is sooner than its next run (at most a minute away).

    `due` is on the bot's clock and the scheduler runs on the wall clock, so the wait is
    carried over, not the instant. A paused job (no next run) stays paused.
    """
    if due is None or job.removed:
        return
    scheduled = job.next_t
    if scheduled is None:
        return
    delay = (due - data.clock.now()).total_seconds()
    if delay >= SAFETY_NET.total_seconds():
        return
    # Not sooner than a second: something due but not claimable (a row another process
    # holds) must not make the job spin.
    when = datetime.now(UTC) + timedelta(seconds=max(delay, MIN_WAKE_SECONDS))
    if when < scheduled:
        job.job.modify(next_run_time=when)


def wake_for(job_queue: JobQueue[Any] | None, data: BotData, due: datetime) -> None:
    """A slot just added may be due before the next tick: move the tick earlier."""
    if job_queue is None:
        return
    for job in job_queue.get_jobs_by_name(JOB_NAME):
        arm(job, data, due)


def start(app: Application[Any, Any, Any, Any, BotData, JobQueue[Any]]) -> Job[Any]:
    """Schedule the dispatcher; called from `post_init`, the first tick runs at start-up."""
    library = app.bot_data.library
    dispatcher = ReminderDispatcher(
        pitch_of(library), {routine_id: pitch_of(library, routine_id) for routine_id in library}
    )
    job_queue = app.job_queue
    if job_queue is None:
        raise RuntimeError("the job queue is missing: install python-telegram-bot[job-queue]")
    return job_queue.run_repeating(
        _run_tick,
        interval=SAFETY_NET,
        name=JOB_NAME,
        data=dispatcher,
        job_kwargs={
            # The scheduler starts after `post_init`; an interval job whose start lies in
            # the past when it starts first runs one interval later, so `first=0` meant a
            # minute of nothing. An explicit first run time is kept as given, and runs
            # at once (within the misfire grace).
            "next_run_time": datetime.now(UTC),
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            "coalesce": True,
            "max_instances": 3,  # a tick started while one runs waits for it
        },
    )


def dispatcher_job(app: Application[Any, Any, Any, Any, Any, JobQueue[Any]]) -> Job[Any]:
    """The dispatcher's job, for tests and tools that run a tick by hand."""
    assert app.job_queue is not None
    [job] = app.job_queue.get_jobs_by_name(JOB_NAME)
    return job
