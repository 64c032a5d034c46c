"""When a session's timers are due: its step timer, its countdown ticks, its card retries.

Each is a row in the database (storage/repositories/timers.py, one row a lane), written
in the transaction that saves the state that armed it, so any worker can carry it out
(bot/timer_poller.py claims them). This module only decides when, from the engine's
ArmTimer / CancelTimer effects; what a timer does is bot/session_flow.py's part. It
imports neither Telegram nor the services, so the sessions service writes its rows in
its own transaction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from routines.engine import ArmTimer, CancelTimer, Effect, Phase, SessionState, TimerKind
from storage.records import TimerRecord

# A countdown edit costs an API call on each phone and makes no sound, so a hold gets
# at most COUNTDOWN_EDITS of them: the hold is split into COUNTDOWN_EDITS + 1 equal
# parts, but ticks are never closer than COUNTDOWN_MIN_INTERVAL (scaled like the hold)
# and none comes within half an interval of the end. So a 60 s hold is edited at 40 s
# and 20 s left, a 30 s hold once at 15 s left, a hold under 22.5 s never, and a switch
# never: a hold costs each phone at most its card and two edits. A cue in the routine
# file (a moment inside the hold) takes the place of the countdown tick nearest to it, so
# its edit shows the cue and costs nothing extra (the loader allows two cues a hold).
COUNTDOWN_MIN_INTERVAL = timedelta(seconds=15)
COUNTDOWN_EDITS = 2
# A card Telegram did not take is tried again after 1 s, 2 s, 4 s ... at most a minute
# apart. A live session moves on within its idle limit (30 min at most), after which its
# card is not owed any more; a summary is given up after about an hour of tries here
# and tried again at the next start.
RETRY_FIRST = timedelta(seconds=1)
RETRY_LONGEST = timedelta(minutes=1)
RETRY_ATTEMPTS = 64
# The worker that saved a step holds its cards' row while it sends them; if it dies,
# another worker sends what is still owed once this lease is over. Longer than a send
# takes, even behind the rate limiter, so a slow send is not repeated by another worker.
CARDS_LEASE = timedelta(seconds=30)
# An Ease off alert is worth something only during its hold (10 min at most): tried
# again after 1 s, 2 s, 4 s ... while the hold runs, a dozen times at most.
ALERT_RETRY_ATTEMPTS = 12


class Lane(StrEnum):
    """A session's timer rows, at most one each."""

    STEP = "step"  # the engine's one timer: a hold or switch ends, or an idle limit
    TICK = "tick"  # the next countdown edit of a hold
    CARDS = "cards"  # the owed cards' next try
    ALERT = "alert"  # an Ease off alert Telegram did not take, tried again in its hold


TICK_KIND = "tick"
CARDS_KIND = "cards"
ALERT_KIND = "alert"


def _whole_seconds(left: timedelta) -> int:
    # The rounding of bot.render.session.whole_seconds (a hold card's seconds, rounded
    # up); importing it would bring Telegram into the sessions service.
    return math.ceil(left.total_seconds() - 1e-6)


def countdown_moments(state: SessionState, now: datetime, deadline: datetime) -> list[datetime]:
    """When a hold running to `deadline` from `now` (or from its get-set end, if later)
    edits its cards, in order.

    The hold is split into COUNTDOWN_EDITS + 1 equal parts, each at least
    COUNTDOWN_MIN_INTERVAL (scaled) long, with a tick at the end of each; then each cue
    still to come takes the place of the tick nearest to it (the earlier on a tie, so the
    countdown near the end stays).
    """
    hold = timedelta(seconds=state.step.seconds * state.time_scale)
    interval = max(COUNTDOWN_MIN_INTERVAL * state.time_scale, hold / (COUNTDOWN_EDITS + 1))
    ticks: list[datetime] = []
    # Inside the get-set window the hold has not started: its ticks count from its start.
    at = max(now, deadline - hold) + interval
    # A tick too close to the end would show "1 s left" just before the next card, and
    # one that would show the same whole seconds as before (short, scaled holds) would
    # only earn a "message is not modified": both are left out.
    while deadline - at >= interval / 2:
        if _whole_seconds(deadline - at) != _whole_seconds(deadline - at + interval):
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


@dataclass(frozen=True, slots=True)
class TimerPlan:
    """The timer rows a saved transition writes: lanes emptied, rows armed."""

    drop: tuple[Lane, ...] = ()
    arm: tuple[TimerRecord, ...] = ()


def timers_of(
    session_id: int, state: SessionState, effects: Sequence[Effect], now: datetime
) -> TimerPlan:
    """What the engine's timer effects become in the database.

    CancelTimer empties the step and tick lanes (a summary's cards still get their row);
    ArmTimer replaces the step timer, and a hold (re)started gets its countdown ticks.
    """
    drop: list[Lane] = []
    arm: list[TimerRecord] = []
    for effect in effects:
        if isinstance(effect, CancelTimer):
            drop += [Lane.STEP, Lane.TICK]
        elif isinstance(effect, ArmTimer):
            step = TimerRecord(session_id, Lane.STEP, effect.kind.value, effect.version, effect.at)
            arm.append(step)
            ticks = (
                countdown_moments(state, now, effect.at)
                if effect.kind is TimerKind.HOLD and state.phase is Phase.HOLDING
                else []
            )
            if ticks:
                first, *later = ticks
                arm.append(
                    TimerRecord(
                        session_id, Lane.TICK, TICK_KIND, effect.version, first, tuple(later)
                    )
                )
            else:
                drop.append(Lane.TICK)
    return TimerPlan(tuple(drop), tuple(arm))


def next_tick(tick: TimerRecord) -> TimerRecord | None:
    """The countdown tick after `tick`, if its hold has one left."""
    if not tick.later:
        return None
    first, *later = tick.later
    return TimerRecord(tick.session_id, Lane.TICK, TICK_KIND, tick.version, first, tuple(later))


def cards_held(session_id: int, version: int, now: datetime, worker: str) -> TimerRecord:
    """The owed cards' row, held by the worker that is about to send them."""
    return TimerRecord(
        session_id,
        Lane.CARDS,
        CARDS_KIND,
        version,
        now,
        available_at=now + CARDS_LEASE,
        claimed_by=worker,
    )


def cards_retry(
    session_id: int, version: int, failed: int, now: datetime
) -> TimerRecord | None:
    """The next try of cards Telegram did not take on try number `failed` (from 0), or
    None once the tries are used up: the next start tries again. A row's `attempt` is
    the number of the try it makes."""
    if failed + 1 >= RETRY_ATTEMPTS:
        return None
    delay = min(RETRY_FIRST * 2**failed, RETRY_LONGEST)
    return TimerRecord(
        session_id, Lane.CARDS, CARDS_KIND, version, now + delay, attempt=failed + 1
    )


def alert_retry(
    session_id: int, version: int, failed: int, now: datetime
) -> TimerRecord | None:
    """The next try of an Ease off alert Telegram did not take on try number `failed`
    (from 0), or None once the tries are used up. Ease off keeps the session's version,
    so the row goes stale as soon as the hold ends or pauses."""
    if failed + 1 >= ALERT_RETRY_ATTEMPTS:
        return None
    delay = min(RETRY_FIRST * 2**failed, RETRY_LONGEST)
    return TimerRecord(
        session_id, Lane.ALERT, ALERT_KIND, version, now + delay, attempt=failed + 1
    )
