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
from routines.plan import Seat
from storage.records import TimerRecord

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
# An old card left on a phone after the end only looks untidy (its buttons are answered
# "this session has ended"), so it gets a few tries, about two minutes, then start-up's.
TIDY_ATTEMPTS = 7


class Lane(StrEnum):
    """A session's timer rows, at most one each."""

    STEP = "step"  # the engine's one timer: a hold or switch ends, or an idle limit
    TICK = "tick"  # the next countdown edit of a hold
    CARDS = "cards"  # the owed cards' next try
    ALERT = "alert"  # an Ease off alert Telegram did not take, tried again in its hold
    TIDY = "tidy"  # a finished session's old cards Telegram did not delete, tried again


TICK_KIND = "tick"
CARDS_KIND = "cards"
ALERT_KIND = "alert"
TIDY_KIND = "tidy"


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
    # A quiet hold starts its ticks past its end: it has none. Inside the get-set window
    # the hold has not started: a longer hold's ticks count from its start.
    if hold <= QUIET_HOLD * state.time_scale:
        at = deadline + interval
    else:
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


def cards_at(session_id: int, version: int, at: datetime) -> TimerRecord:
    """The owed cards' row, due at `at` for whichever worker finds it first: a hold's
    cards, which show it once it has started."""
    return TimerRecord(session_id, Lane.CARDS, CARDS_KIND, version, at)


def shown_from(state: SessionState, now: datetime) -> datetime | None:
    """When the cards of `state` are shown, if not at once: a hold after its get-set.

    The second Ready turns the setup cards into the hold card when the hold starts, not
    at the tap: a card that said "the hold starts in 4 s" would still say so while the
    hold runs (a hold of a minute or less gets no countdown edit), and one edit more a
    hold would break the limit of 4 calls a hold. Until then the setup cards say the
    hold starts a few seconds after both Readies, and the second Ready's answer says
    when; the edit at the start costs what the edit at the tap did.
    """
    starts_at = state.hold_starts_at()
    return starts_at if starts_at is not None and starts_at > now else None


def cards_retry(session_id: int, version: int, failed: int, now: datetime) -> TimerRecord | None:
    """The next try of cards Telegram did not take on try number `failed` (from 0), or
    None once the tries are used up: the next start tries again. A row's `attempt` is
    the number of the try it makes."""
    if failed + 1 >= RETRY_ATTEMPTS:
        return None
    delay = min(RETRY_FIRST * 2**failed, RETRY_LONGEST)
    return TimerRecord(
        session_id, Lane.CARDS, CARDS_KIND, version, now + delay, attempt=failed + 1
    )


def alert_retry(session_id: int, version: int, failed: int, now: datetime) -> TimerRecord | None:
    """The next try of an Ease off alert Telegram did not take on try number `failed`
    (from 0), or None once the tries are used up. Ease off keeps the session's version,
    so the row goes stale as soon as the hold ends or pauses."""
    if failed + 1 >= ALERT_RETRY_ATTEMPTS:
        return None
    delay = min(RETRY_FIRST * 2**failed, RETRY_LONGEST)
    return TimerRecord(
        session_id, Lane.ALERT, ALERT_KIND, version, now + delay, attempt=failed + 1
    )


def tidy_retry(session_id: int, version: int, failed: int, now: datetime) -> TimerRecord | None:
    """The next try of a finished session's leftovers whose deletes Telegram did not
    answer on try number `failed` (from 0), or None once the tries (TIDY_ATTEMPTS) are
    used up: the next start tries again."""
    if failed >= TIDY_ATTEMPTS:
        return None
    delay = min(RETRY_FIRST * 2**failed, RETRY_LONGEST)
    return TimerRecord(session_id, Lane.TIDY, TIDY_KIND, version, now + delay, attempt=failed + 1)
