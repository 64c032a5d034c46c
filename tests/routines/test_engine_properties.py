"""Random event sequences: whatever the partners, strangers and timers do, the rules hold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from routines.engine import (
    EaseOff,
    Event,
    EventRefusal,
    EventRefused,
    IdleTimeout,
    Join,
    Pause,
    Phase,
    Ready,
    Recover,
    Resume,
    SessionState,
    ShowStep,
    Skip,
    Stop,
    TimerElapsed,
    advance,
    new_session,
)
from routines.model import Routine
from routines.plan import PlanOptions, Seat, SwapMode, build_plan
from routines.snapshot import from_snapshot, to_snapshot
from tests.routines.conftest import ALICE, BOB, STRANGER, T0, make_exercise

ROUTINE = Routine(
    id="small",
    title="Small",
    summary="For tests.",
    exercises=(make_exercise("fold", 60, False), make_exercise("twist", 30, True)),
)
BUTTONS: dict[str, Callable[[int | None, int], Event]] = {
    "join": lambda user, version: Join(user_id=user, version=version),
    "ready": lambda user, version: Ready(user_id=user, version=version),
    "pause": lambda user, version: Pause(user_id=user, version=version),
    "resume": lambda user, version: Resume(user_id=user, version=version),
    "skip": lambda user, version: Skip(user_id=user, version=version),
    "stop": lambda user, version: Stop(user_id=user, version=version),
    "ease-off": lambda user, version: EaseOff(user_id=user, version=version),
}
MACHINE: dict[str, Callable[[int | None, int], Event]] = {
    "timer": lambda _, version: TimerElapsed(version=version),
    "idle": lambda _, version: IdleTimeout(version=version),
    "recover": lambda _, version: Recover(version=version),
}
EVENTS = BUTTONS | MACHINE
ENDED = frozenset({Phase.FINISHED, Phase.ABANDONED})

options = st.builds(
    PlanOptions,
    first_receiver=st.sampled_from(Seat),
    swap_mode=st.sampled_from(SwapMode),
    hold_scale=st.sampled_from([0.5, 1.0, 2.0]),
)
actions = st.lists(
    st.tuples(
        # "progress" is what a willing pair would do next, so sequences get deep into
        # the plan; the rest is noise from both partners, strangers and stale timers.
        st.sampled_from([*EVENTS, *["progress"] * 20]),
        st.sampled_from([ALICE, BOB, ALICE, BOB, STRANGER, None]),
        st.sampled_from(["current", "current", "current", "old", "newer", "zero"]),
        st.one_of(
            st.just(0.0),
            st.floats(0, 10, allow_nan=False),
            st.floats(0, 4000, allow_nan=False),
        ),
    ),
    min_size=5,
    max_size=100,
)


def pick_version(state: SessionState, which: str) -> int:
    return {
        "current": state.version,
        "old": state.version - 1,
        "newer": state.version + 1,
        "zero": 0,
    }[which]


def progress(state: SessionState) -> Event:
    """The next natural move: join, get ready, or let the timer run out."""
    waiting = state.joined if state.phase is Phase.LOBBY else state.ready
    missing = [seat for seat in Seat if seat not in waiting]
    if state.phase in {Phase.LOBBY, Phase.SETUP} and missing:
        event = Join if state.phase is Phase.LOBBY else Ready
        return event(user_id=state.user_of(missing[0]), version=state.version)
    if state.phase is Phase.PAUSED:
        return Resume(user_id=state.user_of(Seat.A), version=state.version)
    return TimerElapsed(version=state.version)


def check_refusal(state: SessionState, event: Event, reason: EventRefusal) -> None:
    assert isinstance(event, Join | Ready | Pause | Resume | Skip | Stop | EaseOff), (
        "timer events are never refused"
    )
    if reason is not EventRefusal.NOT_A_PARTNER:
        assert state.seat_of(event.user_id) is not None
    if state.is_over:
        assert reason in {EventRefusal.NOT_A_PARTNER, EventRefusal.SESSION_ENDED}
    if reason is EventRefusal.OUT_OF_DATE:
        assert event.version != state.version


@settings(max_examples=400, deadline=None)
@given(
    plan_options=options,
    time_scale=st.sampled_from([0.05, 1.0]),
    starter=st.sampled_from([frozenset(), frozenset({Seat.A}), frozenset({Seat.B})]),
    script=actions,
)
def test_random_event_sequences_keep_every_invariant_of_a_session(
    plan_options: PlanOptions,
    time_scale: float,
    starter: frozenset[Seat],
    script: list[tuple[str, int | None, str, float]],
) -> None:
    plan = build_plan(ROUTINE, plan_options)
    state = new_session((ALICE, BOB), plan, T0, time_scale=time_scale, joined=starter)
    now = T0
    time_left_seen: dict[int, timedelta] = {}
    for kind, user, which, seconds in script:
        now += timedelta(seconds=seconds)
        version = pick_version(state, which)
        event = progress(state) if kind == "progress" else EVENTS[kind](user, version)
        before = state
        try:
            transition = advance(state, event, now)
        except EventRefused as refused:
            check_refusal(before, event, refused.reason)
        else:
            state = transition.state
            effects = transition.effects
            # The version only grows, and grows whenever what is on screen changes.
            assert state.version >= before.version
            assert state.revision >= before.revision
            if (state.phase, state.step_index) != (before.phase, before.step_index):
                assert state.version > before.version
            # A finished or abandoned session stays as it is.
            if before.is_over:
                assert state == before
                assert effects == ()
            if state.is_over:
                assert state.end_reason is not None
                assert state.deadline is None
            # Both partners always see one and the same step.
            assert state.step_index >= before.step_index
            shown = {effect.step_number for effect in effects if isinstance(effect, ShowStep)}
            assert shown <= {state.step_number}
            # A step costs each phone a bounded number of Telegram calls.
            assert len(effects) <= 4
        # The hold time left is never negative and never grows within one step.
        assert state.remaining is None or state.remaining >= timedelta(0)
        left = state.time_left(now)
        if left is not None:
            assert left >= timedelta(0)
            assert left <= time_left_seen.get(state.step_index, left)
            time_left_seen[state.step_index] = left
        assert state.phase in ENDED or state.deadline is not None
        assert from_snapshot(to_snapshot(state), plan) == state
