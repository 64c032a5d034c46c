"""The session state machine that keeps two phones on one step and one clock.

`advance(state, event, now)` is a pure function: the caller passes the time in, saves the
returned state, then carries out the returned effects. Nothing here reads the clock or
does I/O.

Decisions the Telegram layer relies on:

- `version` is what the buttons on screen mean. It grows whenever the step or the phase
  changes. One partner joining or pressing Ready while the other is still busy does not
  grow it (the other partner's buttons stay valid); Ease off does not grow it either.
  Ease off reaches the helper once per hold; a second tap is refused ALREADY_SENT.
  A button event whose version differs from `state.version` is refused OUT_OF_DATE.
- `revision` grows by one on every change of the state, including those that keep
  `version` (a first Join or Ready, Ease off). A stored session carries its own
  revision counter, which its save grows by one in the same way; the service saves
  only if that counter is still the one it read (bot/services/sessions.py `apply`,
  storage/repositories/sessions.py `save`) and otherwise reads again and asks the
  engine again. Comparing `version` would not do: two Ready taps racing on one version
  must not both win with a stale `ready` set.
- A second Join or Ready by the same partner is refused with EventRefusal.ALREADY, so the bot
  can answer "you're already in" and change nothing.
- Skip moves both partners to the next step. Skipping a setup skips that whole turn
  (its holds and switch) and goes to the next turn's setup: a hold never starts unless
  both partners said they were ready. Skipping a hold or a switch goes to the step that
  follows it. Skipping while paused skips the paused step.
- A session has at most one timer. `ArmTimer` replaces whatever was armed before;
  `CancelTimer` leaves none. Timer events carry the version they were armed for and are
  silently ignored (no effects, no refusal) once that version is gone.
- `ShowStep(seat, ...)` means "send the current screen to that partner as a new
  message": the Join card in the lobby, the setup card with Ready, the hold card, the
  switch card. New messages make a sound; countdowns are the bot's silent edits.
- The second Ready starts the hold's clock GET_SET (scaled) later: the hold's deadline
  is its length plus that delay, and `hold_starts_at` is when the hold proper begins.
  Pausing inside that window keeps the whole hold for the Resume.
- A partner who never acknowledged the safety note (`safety_due`, set by the caller
  from storage when the session is made) gets it once both joined: the session waits
  in SAFETY until each of them tapped Got it (Acknowledge), then goes to the first
  setup. One partner's Got it keeps the version, so the other's button stays valid.
  Whether a person has seen the note is the caller's to store; the engine only waits.
- Recover, sent by the bot at start-up for every live session, re-arms the one timer.
  A hold or switch whose deadline passed while the bot was down becomes PAUSED with
  nothing remaining, so Resume moves on. An idle deadline that passed is re-armed as
  is, so its IdleTimeout arrives at once and abandons the session.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from routines.plan import Plan, Seat, Step, StepKind

# Re-exported: the bot and the tests name the get-set delay as part of the session rules.
from routines.timing import GET_SET as GET_SET

LOBBY_IDLE_LIMIT = timedelta(minutes=10)
SETUP_IDLE_LIMIT = timedelta(minutes=10)
PAUSED_IDLE_LIMIT = timedelta(minutes=30)


class Phase(StrEnum):
    LOBBY = "lobby"
    SAFETY = "safety"  # both joined; someone's first session: the safety note first
    SETUP = "setup"
    HOLDING = "holding"
    SWITCHING = "switching"
    PAUSED = "paused"
    FINISHED = "finished"
    ABANDONED = "abandoned"


TIMED_PHASES = frozenset({Phase.HOLDING, Phase.SWITCHING})
IDLE_PHASES = frozenset({Phase.LOBBY, Phase.SAFETY, Phase.SETUP, Phase.PAUSED})
ENDED_PHASES = frozenset({Phase.FINISHED, Phase.ABANDONED})


class EndReason(StrEnum):
    COMPLETED = "completed"
    STOPPED = "stopped"
    ABANDONED = "abandoned"


class EventRefusal(StrEnum):
    """Why a partner's tap changed nothing; the bot turns each into a short answer."""

    NOT_A_PARTNER = "not-a-partner"
    OUT_OF_DATE = "out-of-date"
    SESSION_ENDED = "session-ended"
    NOT_NOW = "not-now"
    RECEIVER_ONLY = "receiver-only"
    ALREADY = "already"
    ALREADY_SENT = "already-sent"  # a second Ease off in one hold: the helper has it


class EventRefused(Exception):
    def __init__(self, reason: EventRefusal) -> None:
        self.reason = reason
        super().__init__(reason.value)


class TimerKind(StrEnum):
    HOLD = "hold"  # the end of a hold or a switch: send TimerElapsed
    IDLE = "idle"  # the idle limit of a lobby, setup or pause: send IdleTimeout


# --- state ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionState:
    partners: tuple[int, int]  # Telegram user ids of seat A and seat B
    plan: Plan
    phase: Phase
    step_index: int  # 0-based into plan.steps; `step_number` is the 1-based one
    version: int
    revision: int
    joined: frozenset[Seat]
    ready: frozenset[Seat]
    deadline: datetime | None  # end of the hold/switch, or the idle limit
    remaining: timedelta | None  # hold/switch time left while paused
    paused_phase: Phase | None
    paused_by: Seat | None  # None when the bot paused it (Recover)
    time_scale: float
    steps_done: int  # setups both got ready for, holds and switches that ran out
    holds_done: int
    held_seconds: float  # plan seconds of the holds that ran out
    skips: int
    ease_offs: int
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: EndReason | None
    # Seats still owed the safety note's Got it before the first setup.
    safety_due: frozenset[Seat] = frozenset()
    # The step whose hold sent Ease off to the helper: once per hold, pauses included.
    eased_step: int | None = None

    @property
    def step(self) -> Step:
        return self.plan.steps[self.step_index]

    @property
    def step_number(self) -> int:
        return self.step_index + 1

    @property
    def is_over(self) -> bool:
        return self.phase in ENDED_PHASES

    @property
    def exercises_done(self) -> int:
        """The summary's count of stretches: every exercise with a hold step behind the
        session (all of them once completed), or 0 if no hold ran to its end.

        The state keeps counts, not which holds ran out, so once any hold did, an
        exercise whose holds were skipped counts too.
        """
        if not self.holds_done:
            return 0
        steps = self.plan.steps
        finished = len(steps) if self.end_reason is EndReason.COMPLETED else self.step_index
        return len({s.exercise.id for s in steps[:finished] if s.kind is StepKind.HOLD})

    def hold_starts_at(self) -> datetime | None:
        """When a running hold's clock starts: after the get-set delay, if it has one."""
        if self.phase is not Phase.HOLDING or self.deadline is None:
            return None
        return self.deadline - timedelta(seconds=self.step.seconds * self.time_scale)

    def seat_of(self, user_id: int | None) -> Seat | None:
        for seat in Seat:
            if user_id is not None and self.partners[seat] == user_id:
                return seat
        return None

    def user_of(self, seat: Seat) -> int:
        return self.partners[seat]

    def time_left(self, now: datetime) -> timedelta | None:
        """Time left on the hold or switch (frozen while paused); None when untimed."""
        if self.phase in TIMED_PHASES and self.deadline is not None:
            return max(self.deadline - now, timedelta(0))
        if self.phase is Phase.PAUSED:
            return self.remaining
        return None


def new_session(
    partners: tuple[int, int],
    plan: Plan,
    now: datetime,
    time_scale: float = 1.0,
    joined: frozenset[Seat] = frozenset(),
    safety_due: frozenset[Seat] = frozenset(),
) -> SessionState:
    """A session in its lobby; `joined` may hold the starter's seat already, and
    `safety_due` the seats whose person has not acknowledged the safety note yet.

    The caller carries out `opening_effects(state)` after saving it.
    """
    _require_aware(now)
    if partners[0] == partners[1]:
        raise ValueError("a session needs two different partners")
    if time_scale <= 0:
        raise ValueError(f"time_scale must be positive, got {time_scale}")
    if len(joined) == len(Seat):
        raise ValueError("at least one partner has to join from the lobby")
    return SessionState(
        partners=partners,
        plan=plan,
        phase=Phase.LOBBY,
        step_index=0,
        version=1,
        revision=0,
        joined=frozenset(joined),
        ready=frozenset(),
        deadline=now + LOBBY_IDLE_LIMIT * time_scale,
        remaining=None,
        paused_phase=None,
        paused_by=None,
        time_scale=time_scale,
        steps_done=0,
        holds_done=0,
        held_seconds=0.0,
        skips=0,
        ease_offs=0,
        created_at=now,
        started_at=None,
        ended_at=None,
        end_reason=None,
        safety_due=frozenset(safety_due),
    )


# --- events --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Join:
    user_id: int | None
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Ready:
    user_id: int | None
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Pause:
    user_id: int | None
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Resume:
    user_id: int | None
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Skip:
    user_id: int | None
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Stop:
    user_id: int | None
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class EaseOff:
    user_id: int | None
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Acknowledge:
    """Got it, under the safety note."""

    user_id: int | None
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerElapsed:
    version: int
    user_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IdleTimeout:
    version: int
    user_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Recover:
    version: int
    user_id: int | None = None


ButtonEvent = Join | Ready | Pause | Resume | Skip | Stop | EaseOff | Acknowledge
MachineEvent = TimerElapsed | IdleTimeout | Recover
Event = ButtonEvent | MachineEvent


# --- effects -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShowStep:
    seat: Seat
    step_number: int


@dataclass(frozen=True, slots=True)
class MarkJoined:
    seat: Seat


@dataclass(frozen=True, slots=True)
class MarkReady:
    seat: Seat


@dataclass(frozen=True, slots=True)
class ArmTimer:
    at: datetime
    version: int
    kind: TimerKind


@dataclass(frozen=True, slots=True)
class CancelTimer:
    pass


@dataclass(frozen=True, slots=True)
class AlertHelper:
    seat: Seat


@dataclass(frozen=True, slots=True)
class ShowPaused:
    by: Seat | None


@dataclass(frozen=True, slots=True)
class ShowResumed:
    by: Seat


@dataclass(frozen=True, slots=True)
class PostToGroup:
    kind: Literal["start", "end"]


@dataclass(frozen=True, slots=True)
class Finished:
    reason: EndReason


Effect = (
    ShowStep
    | MarkJoined
    | MarkReady
    | ArmTimer
    | CancelTimer
    | AlertHelper
    | ShowPaused
    | ShowResumed
    | PostToGroup
    | Finished
)


@dataclass(frozen=True, slots=True)
class Transition:
    state: SessionState
    effects: tuple[Effect, ...]


def opening_effects(state: SessionState) -> tuple[Effect, ...]:
    """What to do right after `new_session`: Join cards and the lobby's idle timer."""
    cards = tuple(ShowStep(seat, state.step_number) for seat in Seat if seat not in state.joined)
    return (*cards, _idle_timer(state))


# --- the machine ---------------------------------------------------------------------


def advance(state: SessionState, event: Event, now: datetime) -> Transition:
    """Apply one event; raise EventRefused for a partner's tap that changes nothing."""
    _require_aware(now)
    if isinstance(event, TimerElapsed | IdleTimeout | Recover):
        return _machine_event(state, event, now)
    seat = state.seat_of(event.user_id)
    if seat is None:
        raise EventRefused(EventRefusal.NOT_A_PARTNER)
    if state.is_over:
        raise EventRefused(EventRefusal.SESSION_ENDED)
    if event.version != state.version:
        raise EventRefused(EventRefusal.OUT_OF_DATE)
    if isinstance(event, Join):
        return _join(state, seat, now)
    if isinstance(event, Ready):
        return _ready(state, seat, now)
    if isinstance(event, Pause):
        return _pause(state, seat, now)
    if isinstance(event, Resume):
        return _resume(state, seat, now)
    if isinstance(event, Skip):
        return _skip(state, now)
    if isinstance(event, Stop):
        return _end(state, now, EndReason.STOPPED)
    if isinstance(event, Acknowledge):
        return _acknowledge(state, seat, now)
    return _ease_off(state, seat)


def _machine_event(state: SessionState, event: MachineEvent, now: datetime) -> Transition:
    unchanged = Transition(state, ())
    if state.is_over or event.version != state.version:
        return unchanged
    if isinstance(event, TimerElapsed):
        return _time_up(state, now) if state.phase in TIMED_PHASES else unchanged
    if isinstance(event, IdleTimeout):
        if state.phase in IDLE_PHASES:
            return _end(state, now, EndReason.ABANDONED)
        return unchanged
    return _recover(state, now)


def _join(state: SessionState, seat: Seat, now: datetime) -> Transition:
    if state.phase is not Phase.LOBBY or seat in state.joined:
        raise EventRefused(EventRefusal.ALREADY)
    joined = state.joined | {seat}
    if len(joined) < len(Seat):
        return Transition(_touch(state, joined=joined), (MarkJoined(seat),))
    started = replace(state, joined=joined, started_at=now)
    entered = _safety_note(started, now) if state.safety_due else _enter_step(started, 0, now)
    return Transition(entered.state, (*entered.effects, PostToGroup("start")))


def _safety_note(state: SessionState, now: datetime) -> Transition:
    """Both joined, someone's first session: each phone gets the note or a wait card."""
    waiting = _bump(state, phase=Phase.SAFETY, deadline=now + SETUP_IDLE_LIMIT * state.time_scale)
    cards = tuple(ShowStep(seat, waiting.step_number) for seat in Seat)
    return Transition(waiting, (*cards, _idle_timer(waiting)))


def _acknowledge(state: SessionState, seat: Seat, now: datetime) -> Transition:
    if state.phase is not Phase.SAFETY:
        raise EventRefused(EventRefusal.NOT_NOW)
    if seat not in state.safety_due:
        raise EventRefused(EventRefusal.ALREADY)
    due = state.safety_due - {seat}
    if due:
        return Transition(_touch(state, safety_due=due), ())
    return _enter_step(replace(state, safety_due=due), 0, now)


def _ready(state: SessionState, seat: Seat, now: datetime) -> Transition:
    if state.phase is not Phase.SETUP:
        raise EventRefused(EventRefusal.NOT_NOW)
    if seat in state.ready:
        raise EventRefused(EventRefusal.ALREADY)
    ready = state.ready | {seat}
    if len(ready) < len(Seat):
        return Transition(_touch(state, ready=ready), (MarkReady(seat),))
    done = replace(state, ready=ready, steps_done=state.steps_done + 1)
    return _enter_step(done, state.step_index + 1, now, get_set=GET_SET * state.time_scale)


def _pause(state: SessionState, seat: Seat, now: datetime) -> Transition:
    if state.phase is Phase.PAUSED:
        raise EventRefused(EventRefusal.ALREADY)
    if state.phase in (Phase.LOBBY, Phase.SAFETY):
        raise EventRefused(EventRefusal.NOT_NOW)
    remaining = None
    if state.phase in TIMED_PHASES:
        remaining = _clamp(_deadline(state) - now, _duration(state, state.step))
    paused = _bump(
        state,
        phase=Phase.PAUSED,
        paused_phase=state.phase,
        paused_by=seat,
        remaining=remaining,
        deadline=now + PAUSED_IDLE_LIMIT * state.time_scale,
    )
    return Transition(paused, (ShowPaused(seat), _idle_timer(paused)))


def _resume(state: SessionState, seat: Seat, now: datetime) -> Transition:
    if state.phase is not Phase.PAUSED or state.paused_phase is None:
        raise EventRefused(EventRefusal.NOT_NOW)
    if state.paused_phase is Phase.SETUP:
        resumed = _bump(
            state,
            phase=Phase.SETUP,
            paused_phase=None,
            paused_by=None,
            deadline=now + SETUP_IDLE_LIMIT * state.time_scale,
        )
        return Transition(resumed, (ShowResumed(seat), _idle_timer(resumed)))
    remaining = state.remaining or timedelta(0)
    if remaining <= timedelta(0):
        # Nothing left to hold (the time ran out while the bot was down): move on.
        return _time_up(state, now)
    resumed = _bump(
        state,
        phase=state.paused_phase,
        paused_phase=None,
        paused_by=None,
        remaining=None,
        deadline=now + remaining,
    )
    return Transition(resumed, (ShowResumed(seat), _hold_timer(resumed)))


def _skip(state: SessionState, now: datetime) -> Transition:
    phase = state.paused_phase if state.phase is Phase.PAUSED else state.phase
    if phase in (Phase.LOBBY, Phase.SAFETY) or phase is None:
        raise EventRefused(EventRefusal.NOT_NOW)
    following = state.step_index + 1
    if phase is Phase.SETUP:
        turn = state.step.turn_number
        steps = state.plan.steps
        while following < len(steps) and steps[following].turn_number == turn:
            following += 1
    return _enter_step(replace(state, skips=state.skips + 1), following, now)


def _ease_off(state: SessionState, seat: Seat) -> Transition:
    if state.phase is not Phase.HOLDING:
        raise EventRefused(EventRefusal.NOT_NOW)
    if seat is not state.step.receiver:
        raise EventRefused(EventRefusal.RECEIVER_ONLY)
    if state.eased_step == state.step_index:
        # One alert per hold: more taps would only bury the helper's phone in alarms.
        raise EventRefused(EventRefusal.ALREADY_SENT)
    # The clock keeps running: easing off is about pressure, not time.
    eased = _touch(state, ease_offs=state.ease_offs + 1, eased_step=state.step_index)
    return Transition(eased, (AlertHelper(state.step.helper),))


def _time_up(state: SessionState, now: datetime) -> Transition:
    step = state.step
    held = step.kind is StepKind.HOLD
    done = replace(
        state,
        steps_done=state.steps_done + 1,
        holds_done=state.holds_done + held,
        held_seconds=state.held_seconds + (step.seconds if held else 0.0),
    )
    return _enter_step(done, state.step_index + 1, now)


def _recover(state: SessionState, now: datetime) -> Transition:
    if state.phase not in TIMED_PHASES:
        return Transition(state, (_idle_timer(state),))
    if now < _deadline(state):
        return Transition(state, (_hold_timer(state),))
    paused = _bump(
        state,
        phase=Phase.PAUSED,
        paused_phase=state.phase,
        paused_by=None,
        remaining=timedelta(0),
        deadline=now + PAUSED_IDLE_LIMIT * state.time_scale,
    )
    return Transition(paused, (ShowPaused(None), _idle_timer(paused)))


def _enter_step(
    state: SessionState, index: int, now: datetime, get_set: timedelta = timedelta(0)
) -> Transition:
    """Move both partners to step `index` at once, or finish after the last step.

    A timed step's clock starts `get_set` after `now`.
    """
    if index >= len(state.plan.steps):
        return _end(state, now, EndReason.COMPLETED)
    step = state.plan.steps[index]
    common: dict[str, Any] = {
        "step_index": index,
        "remaining": None,
        "paused_phase": None,
        "paused_by": None,
    }
    if step.kind is StepKind.SETUP:
        entered = _bump(
            state,
            phase=Phase.SETUP,
            ready=frozenset(),
            deadline=now + SETUP_IDLE_LIMIT * state.time_scale,
            **common,
        )
        timer = _idle_timer(entered)
    else:
        phase = Phase.HOLDING if step.kind is StepKind.HOLD else Phase.SWITCHING
        deadline = now + get_set + _duration(state, step)
        entered = _bump(state, phase=phase, deadline=deadline, **common)
        timer = _hold_timer(entered)
    cards = tuple(ShowStep(seat, entered.step_number) for seat in Seat)
    return Transition(entered, (*cards, timer))


def _end(state: SessionState, now: datetime, reason: EndReason) -> Transition:
    ended = _bump(
        state,
        phase=Phase.ABANDONED if reason is EndReason.ABANDONED else Phase.FINISHED,
        end_reason=reason,
        ended_at=now,
        deadline=None,
        remaining=None,
        paused_phase=None,
        paused_by=None,
    )
    effects: list[Effect] = [CancelTimer(), Finished(reason)]
    if state.holds_done:
        # Work counts however the session ended; a session with no hold done is no news.
        effects.append(PostToGroup("end"))
    return Transition(ended, tuple(effects))


# --- small helpers -------------------------------------------------------------------


def _bump(state: SessionState, **changes: Any) -> SessionState:
    return replace(state, version=state.version + 1, revision=state.revision + 1, **changes)


def _touch(state: SessionState, **changes: Any) -> SessionState:
    return replace(state, revision=state.revision + 1, **changes)


def _duration(state: SessionState, step: Step) -> timedelta:
    return timedelta(seconds=step.seconds * state.time_scale)


def _deadline(state: SessionState) -> datetime:
    if state.deadline is None:
        raise AssertionError(f"a {state.phase} session always has a deadline")
    return state.deadline


def _clamp(left: timedelta, most: timedelta) -> timedelta:
    return max(timedelta(0), min(left, most))


def _hold_timer(state: SessionState) -> ArmTimer:
    return ArmTimer(_deadline(state), state.version, TimerKind.HOLD)


def _idle_timer(state: SessionState) -> ArmTimer:
    return ArmTimer(_deadline(state), state.version, TimerKind.IDLE)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("the engine needs timezone-aware datetimes")
