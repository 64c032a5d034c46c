"""A session's jobs in the job queue: its one timer, the countdown ticks, the card retry.

Every job is set as a delay from the bot's clock and carries its due instant on that
clock, so a test that moves the clock by hand is never overtaken by the job queue's own.
What a job does when it runs is given by the caller (bot/session_flow.py), which loads
the session, asks the engine and talks to Telegram; this module only decides when.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from telegram.ext import JobQueue

from bot.clock import Clock
from bot.context import Context
from bot.live_session import Applied, Live
from bot.render.session import whole_seconds
from routines.engine import ArmTimer, CancelTimer, Phase, SessionState, TimerKind
from routines.plan import Seat

# A countdown edit costs an API call on each phone and makes no sound. A phone shows only
# its current card, so every new card also costs a delete; to keep a whole session within
# 4 calls per hold on each phone (sends, edits and deletes; see tests/bot/test_session_
# flow.py), a hold of QUIET_HOLD or less gets no plain countdown edit at all: its card
# says how long it lasts, and the phone rings when it is over. Longer holds get at most
# COUNTDOWN_EDITS: the hold is split into COUNTDOWN_EDITS + 1 equal parts, ticks never
# closer than COUNTDOWN_MIN_INTERVAL (both scaled like the hold), none within half an
# interval of the end. A cue in the routine file (a moment inside the hold) takes the
# place of the countdown tick nearest to it, or comes on its own: cues are always shown.
# The arithmetic for `lower-back` (22 holds, 88 calls a phone): a lobby card, 14 setup
# cards and 8 switch cards (each a send and a delete of the card before), 14 "ready" and
# 22 hold edits, the summary and its delete, and 5 for the cues make 88; one plain
# countdown edit a hold would make 110.
QUIET_HOLD = timedelta(seconds=60)
COUNTDOWN_MIN_INTERVAL = timedelta(seconds=15)
COUNTDOWN_EDITS = 2
# Timers whose moment passed while the loop was busy still run: being late is better
# than APScheduler's default of silently dropping a run that is a second late.
MISFIRE_GRACE_SECONDS = 3600
# A card Telegram did not take is tried again after 1 s, 2 s, 4 s ... at most a minute
# apart. A live session moves on within its idle limit (30 min at most), after which its
# card is not owed any more; a summary is given up after about an hour of tries here
# and tried again at the next start.
RETRY_FIRST = timedelta(seconds=1)
RETRY_LONGEST = timedelta(minutes=1)
RETRY_ATTEMPTS = 64
# An old card left on a phone after the end only looks untidy (its buttons are answered
# "this session has ended"), so it gets a few tries, about two minutes, then start-up's.
TIDY_ATTEMPTS = 7

JobCallback = Callable[[Context], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True)
class SessionTimer:
    """What a timer job carries; `due_at` is on the bot's clock (tests move it)."""

    session_id: int
    version: int
    kind: TimerKind
    due_at: datetime


@dataclass(frozen=True, slots=True)
class CardRetry:
    """Try again the cards a session still owes for `version`."""

    session_id: int
    version: int
    attempt: int
    due_at: datetime


@dataclass(frozen=True, slots=True)
class TidyRetry:
    """Try again to take a finished session's old cards off the phones."""

    session_id: int
    attempt: int
    due_at: datetime


@dataclass(frozen=True, slots=True)
class CountdownTick:
    session_id: int
    version: int
    due_at: datetime
    # The hold's ticks after this one, all chosen when the hold (re)started, so a hold
    # gets COUNTDOWN_EDITS at most.
    later: tuple[datetime, ...]


@dataclass(frozen=True, slots=True)
class JobCallbacks:
    """What runs when a job comes due: a timer, a countdown tick, a card retry."""

    timer: JobCallback
    countdown: JobCallback
    card_retry: JobCallback
    tidy_retry: JobCallback


def countdown_moments(state: SessionState, now: datetime, deadline: datetime) -> list[datetime]:
    """When a hold running from `now` to `deadline` edits its cards, in order.

    The hold is split into COUNTDOWN_EDITS + 1 equal parts, each at least
    COUNTDOWN_MIN_INTERVAL (scaled) long, with a tick at the end of each; then each cue
    still to come takes the place of the tick nearest to it (the earlier on a tie, so the
    countdown near the end stays).
    """
    hold = timedelta(seconds=state.step.seconds * state.time_scale)
    interval = max(COUNTDOWN_MIN_INTERVAL * state.time_scale, hold / (COUNTDOWN_EDITS + 1))
    ticks: list[datetime] = []
    # A quiet hold starts its ticks past its end: it has none.
    at = deadline + interval if hold <= QUIET_HOLD * state.time_scale else now + interval
    # A tick too close to the end would show "1 s left" just before the next card, and
    # one that would show the same whole seconds as before (short, scaled holds) would
    # only earn a "message is not modified": both are left out.
    while deadline - at >= interval / 2:
        if whole_seconds(deadline - at) != whole_seconds(deadline - at + interval):
            ticks.append(at)
        at += interval
    # After a pause the deadline moved on by the pause, so this is where the hold would
    # have started had it run straight through: cue moments count from here.
    started = deadline - hold
    cues: list[datetime] = []
    for moment in state.step.cue_moments:
        cue_at = started + timedelta(seconds=moment * state.time_scale)
        if not now < cue_at < deadline:
            continue
        if ticks:
            ticks.remove(min(ticks, key=lambda tick: (abs(tick - cue_at), tick)))
        cues.append(cue_at)
    return sorted(ticks + cues)


# A cue's tick is set for the cue's own instant; this much apart still counts as it.
_SAME_MOMENT = timedelta(milliseconds=1)


def ringing_seats(state: SessionState, at: datetime) -> frozenset[Seat]:
    """The partners whose phone rings for a cue due `at` in the hold: the cue changes
    what they do (the routine file says which roles). Empty for a plain countdown tick."""
    step = state.step
    if state.deadline is None:
        return frozenset()
    started = state.deadline - timedelta(seconds=step.seconds * state.time_scale)
    for moment, cue in zip(step.cue_moments, step.exercise.cues, strict=False):
        cue_at = started + timedelta(seconds=moment * state.time_scale)
        if abs(cue_at - at) <= _SAME_MOMENT:
            return frozenset(seat for seat in Seat if step.role_of(seat).value in cue.sound)
    return frozenset()


def catch_up(
    state: SessionState, now: datetime, later: Sequence[datetime]
) -> tuple[datetime, ...]:
    """The ticks after one whose edit did not go through: one more soon (RETRY_FIRST),
    unless a tick comes by then anyway or the hold ends first."""
    at = now + RETRY_FIRST
    if state.deadline is None or at >= state.deadline or (later and later[0] <= at):
        return tuple(later)
    return (at, *later)


def _name(session_id: int) -> str:
    return f"session-{session_id}"


class SessionTimers:
    """Arms and cancels the jobs of sessions; one per update or job, like the runner."""

    def __init__(self, jobs: JobQueue[Any], clock: Clock, callbacks: JobCallbacks) -> None:
        self.jobs = jobs
        self.clock = clock
        self.callbacks = callbacks

    def follow(self, applied: Applied) -> None:
        """Cancel or arm what the transition says. Done before anything is sent: it
        cannot fail, and a Telegram call that does must not leave the saved step
        without its timer."""
        for effect in applied.effects:
            if isinstance(effect, CancelTimer):
                self.cancel(applied.live.id)
            elif isinstance(effect, ArmTimer):
                self.arm(applied.live, effect)

    def cancel(self, session_id: int) -> None:
        for name in (_name(session_id), f"{_name(session_id)}-tick"):
            for job in self.jobs.get_jobs_by_name(name):
                job.schedule_removal()

    def arm(self, live: Live, timer: ArmTimer) -> None:
        """The session's one timer, replacing any other; a hold also gets its countdown."""
        self.cancel(live.id)
        self.jobs.run_once(
            self.callbacks.timer,
            self._delay(timer.at),
            data=SessionTimer(live.id, timer.version, timer.kind, timer.at),
            name=_name(live.id),
            job_kwargs={"misfire_grace_time": MISFIRE_GRACE_SECONDS},
        )
        if timer.kind is TimerKind.HOLD and live.state.phase is Phase.HOLDING:
            self._arm_countdown(live, timer.at)

    def _arm_countdown(self, live: Live, deadline: datetime) -> None:
        self._tick_at(live, countdown_moments(live.state, self.clock.now(), deadline))

    def next_tick(self, live: Live, tick: CountdownTick) -> None:
        """The countdown tick after `tick`, if the hold has one left."""
        self._tick_at(live, tick.later)

    def _tick_at(self, live: Live, moments: Sequence[datetime]) -> None:
        if not moments:
            return
        first, *later = moments
        self.jobs.run_once(
            self.callbacks.countdown,
            self._delay(first),
            data=CountdownTick(live.id, live.state.version, first, tuple(later)),
            name=f"{_name(live.id)}-tick",
            job_kwargs={"misfire_grace_time": MISFIRE_GRACE_SECONDS},
        )

    def retry_cards(self, live: Live, attempt: int) -> bool:
        """Try the owed cards of this version again after a backoff (one job a session).

        False once the tries are used up: the next start tries again.
        """
        if attempt >= RETRY_ATTEMPTS:
            return False
        delay = min(RETRY_FIRST * 2**attempt, RETRY_LONGEST)
        name = f"{_name(live.id)}-cards"
        for job in self.jobs.get_jobs_by_name(name):
            if isinstance(job.data, CardRetry) and job.data.version > live.state.version:
                # A slow try of an older step ended after a newer step's cards failed:
                # replacing that newer retry would leave them owed until the next start.
                return True
            job.schedule_removal()
        due_at = self.clock.now() + delay
        self.jobs.run_once(
            self.callbacks.card_retry,
            self._delay(due_at),
            data=CardRetry(live.id, live.state.version, attempt, due_at),
            name=name,
            job_kwargs={"misfire_grace_time": MISFIRE_GRACE_SECONDS},
        )
        return True

    def retry_tidy(self, session_id: int, attempt: int) -> bool:
        """Try a finished session's leftovers again after a backoff; False once the tries
        (TIDY_ATTEMPTS) are used up: the next start tries again."""
        if attempt >= TIDY_ATTEMPTS:
            return False
        due_at = self.clock.now() + min(RETRY_FIRST * 2**attempt, RETRY_LONGEST)
        name = f"{_name(session_id)}-tidy"
        for job in self.jobs.get_jobs_by_name(name):
            job.schedule_removal()
        self.jobs.run_once(
            self.callbacks.tidy_retry,
            self._delay(due_at),
            data=TidyRetry(session_id, attempt, due_at),
            name=name,
            job_kwargs={"misfire_grace_time": MISFIRE_GRACE_SECONDS},
        )
        return True

    def _delay(self, at: datetime) -> float:
        # Timers are set as delays from the bot's clock, so a test that moves its clock
        # by hand is never overtaken by the job queue's own wall clock.
        return max(0.0, (at - self.clock.now()).total_seconds())
