"""The session engine: every rule that keeps two phones on one step and one clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from routines.engine import (
    GET_SET,
    LOBBY_IDLE_LIMIT,
    PAUSED_IDLE_LIMIT,
    SETUP_IDLE_LIMIT,
    Acknowledge,
    AlertHelper,
    ArmTimer,
    CancelTimer,
    EaseOff,
    EndReason,
    Event,
    EventRefusal,
    EventRefused,
    Finished,
    IdleTimeout,
    Join,
    MarkJoined,
    MarkReady,
    Pause,
    Phase,
    PostToGroup,
    Ready,
    Recover,
    Resume,
    SessionState,
    ShowPaused,
    ShowResumed,
    ShowStep,
    Skip,
    Stop,
    TimerElapsed,
    TimerKind,
    Transition,
    advance,
    new_session,
    opening_effects,
)
from routines.loader import load_library
from routines.model import Routine
from routines.plan import Plan, PlanOptions, Role, Seat, Side, StepKind, SwapMode, build_plan
from routines.snapshot import SnapshotError, from_snapshot, to_snapshot
from tests.routines.conftest import ALICE, BOB, STRANGER, T0

# Seconds between the second Ready and the start of the hold's clock (unscaled).
GET = GET_SET.total_seconds()

# Plan of `small_routine`, per exercise, A first:
#  1 setup fold A   2 hold fold A (60 s)   3 setup fold B   4 hold fold B
#  5 setup twist A  6 hold right A (30 s)  7 switch A (5 s)  8 hold left A
#  9 setup twist B 10 hold right B        11 switch B       12 hold left B


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def plan(small_routine: Routine) -> Plan:
    return build_plan(small_routine, PlanOptions())


@pytest.fixture
def lobby(plan: Plan) -> SessionState:
    return new_session((ALICE, BOB), plan, T0, joined=frozenset({Seat.A}))


def step(state: SessionState, event: Event, seconds: float = 0) -> Transition:
    return advance(state, event, at(seconds))


def both_join(lobby: SessionState) -> SessionState:
    return step(lobby, Join(user_id=BOB, version=lobby.version)).state


def both_ready(state: SessionState, seconds: float = 0) -> SessionState:
    first = step(state, Ready(user_id=ALICE, version=state.version), seconds).state
    return step(first, Ready(user_id=BOB, version=first.version), seconds).state


def time_up(state: SessionState, seconds: float) -> Transition:
    return step(state, TimerElapsed(version=state.version), seconds)


def drive_to(state: SessionState, number: int) -> SessionState:
    """Get ready and let every timer run out until step `number` is on both phones."""
    while state.step_number < number:
        state = both_ready(state) if state.phase is Phase.SETUP else time_up(state, 0).state
    return state


def refusal(state: SessionState, event: Event, seconds: float = 0) -> EventRefusal:
    with pytest.raises(EventRefused) as caught:
        advance(state, event, at(seconds))
    return caught.value.reason


def holding(lobby: SessionState) -> SessionState:
    """Both joined and ready at t=0: holding step 2 (fold, Alice receives, 60 s), whose
    clock starts at t=GET, after the get-set window."""
    return both_ready(both_join(lobby))


# --- lobby -----------------------------------------------------------------------------


def test_a_new_session_sends_join_cards_and_arms_the_lobby_idle_timer(plan: Plan) -> None:
    state = new_session((ALICE, BOB), plan, T0)
    assert state.phase is Phase.LOBBY
    assert opening_effects(state) == (
        ShowStep(Seat.A, 1),
        ShowStep(Seat.B, 1),
        ArmTimer(T0 + LOBBY_IDLE_LIMIT, state.version, TimerKind.IDLE),
    )


def test_the_starter_may_count_as_joined_already(lobby: SessionState) -> None:
    assert lobby.joined == {Seat.A}
    assert opening_effects(lobby)[0] == ShowStep(Seat.B, 1)


def test_the_lobby_waits_until_both_partners_have_joined(plan: Plan) -> None:
    state = new_session((ALICE, BOB), plan, T0)
    moved = step(state, Join(user_id=BOB, version=state.version))
    assert moved.state.phase is Phase.LOBBY
    assert moved.effects == (MarkJoined(Seat.B),)


def test_one_partner_joining_keeps_the_version_so_the_others_button_stays_valid(
    plan: Plan,
) -> None:
    state = new_session((ALICE, BOB), plan, T0)
    moved = step(state, Join(user_id=BOB, version=state.version)).state
    assert moved.version == state.version
    assert moved.revision > state.revision
    assert step(moved, Join(user_id=ALICE, version=state.version)).state.phase is Phase.SETUP


def test_when_both_have_joined_both_get_the_first_setup_at_once(lobby: SessionState) -> None:
    moved = step(lobby, Join(user_id=BOB, version=lobby.version), 5)
    assert moved.state.phase is Phase.SETUP
    assert moved.state.version == lobby.version + 1
    assert moved.state.started_at == at(5)
    assert moved.effects == (
        ShowStep(Seat.A, 1),
        ShowStep(Seat.B, 1),
        ArmTimer(at(5) + SETUP_IDLE_LIMIT, moved.state.version, TimerKind.IDLE),
        PostToGroup("start"),
    )


def test_a_second_join_by_the_same_partner_is_refused_as_already(lobby: SessionState) -> None:
    assert refusal(lobby, Join(user_id=ALICE, version=lobby.version)) is EventRefusal.ALREADY


def test_a_session_needs_two_different_partners_and_an_aware_clock(plan: Plan) -> None:
    with pytest.raises(ValueError, match="two different"):
        new_session((ALICE, ALICE), plan, T0)
    with pytest.raises(ValueError, match="timezone"):
        new_session((ALICE, BOB), plan, datetime(2025, 1, 1))  # noqa: DTZ001


# --- setup and hold --------------------------------------------------------------------


def test_a_hold_starts_only_when_both_are_ready(lobby: SessionState) -> None:
    setup = both_join(lobby)
    one = step(setup, Ready(user_id=BOB, version=setup.version), 3)
    assert one.state.phase is Phase.SETUP
    assert one.state.version == setup.version
    assert one.effects == (MarkReady(Seat.B),)
    assert refusal(one.state, Ready(user_id=BOB, version=setup.version)) is EventRefusal.ALREADY


def test_a_hold_starts_at_one_instant_for_both(lobby: SessionState) -> None:
    setup = both_join(lobby)
    one = step(setup, Ready(user_id=ALICE, version=setup.version), 3).state
    both = step(one, Ready(user_id=BOB, version=setup.version), 8)
    assert both.state.phase is Phase.HOLDING
    assert both.state.step_number == 2
    # The clock starts GET s after the second Ready, so both can put the phone down.
    assert both.state.hold_starts_at() == at(8 + GET)
    assert both.state.deadline == at(8 + GET + 60)
    assert both.effects == (
        ShowStep(Seat.A, 2),
        ShowStep(Seat.B, 2),
        ArmTimer(at(8 + GET + 60), both.state.version, TimerKind.HOLD),
    )


def test_the_time_scale_shortens_holds_and_idle_limits(plan: Plan) -> None:
    state = new_session((ALICE, BOB), plan, T0, time_scale=0.05, joined=frozenset({Seat.A}))
    assert state.deadline == T0 + LOBBY_IDLE_LIMIT * 0.05
    held = holding(state)
    assert held.deadline == at((GET + 60) * 0.05)


def test_each_partner_reads_their_own_role_for_the_current_step(lobby: SessionState) -> None:
    state = holding(lobby)
    assert state.step.role_of(Seat.A) is Role.RECEIVER
    assert state.step.routine_words(Seat.B) == state.step.exercise.helper_during


# --- pause and resume ------------------------------------------------------------------


@pytest.mark.parametrize("who", [ALICE, BOB])
def test_a_pause_by_either_partner_pauses_both_and_keeps_the_remaining_time_exactly(
    lobby: SessionState, who: int
) -> None:
    state = holding(lobby)
    paused = step(state, Pause(user_id=who, version=state.version), GET + 17.25)
    assert paused.state.phase is Phase.PAUSED
    assert paused.state.remaining == timedelta(seconds=60 - 17.25)
    assert paused.state.version == state.version + 1
    by = paused.state.seat_of(who)
    assert by is not None
    assert paused.effects == (
        ShowPaused(by),
        ArmTimer(at(GET + 17.25) + PAUSED_IDLE_LIMIT, paused.state.version, TimerKind.IDLE),
    )


def test_a_paused_hold_keeps_its_remaining_time_however_long_the_pause(
    lobby: SessionState,
) -> None:
    state = holding(lobby)
    paused = step(state, Pause(user_id=ALICE, version=state.version), GET + 20).state
    assert paused.time_left(at(GET + 20)) == paused.time_left(at(1000)) == timedelta(seconds=40)


def test_a_pause_inside_the_get_set_window_keeps_the_whole_hold(lobby: SessionState) -> None:
    state = holding(lobby)
    paused = step(state, Pause(user_id=BOB, version=state.version), GET / 2).state
    assert paused.remaining == timedelta(seconds=60)
    # Resume starts the clock at once: both said they are set by tapping it.
    resumed = step(paused, Resume(user_id=ALICE, version=paused.version), 100).state
    assert resumed.deadline == at(160)
    assert resumed.hold_starts_at() == at(100)


def test_only_a_hold_after_a_setup_waits_to_get_set(lobby: SessionState) -> None:
    state = time_up(holding(lobby), GET + 60).state  # setup: fold, Bob receives
    state = time_up(both_ready(state, 70), 70 + GET + 60).state  # setup: twist, Alice
    right = both_ready(state, 200)
    assert right.deadline == at(200 + GET + 30)
    switch = time_up(right, 200 + GET + 30).state
    left = time_up(switch, 250).state
    assert left.step.side is Side.LEFT
    # After the switch both are in place already: the left side's clock starts at once.
    assert (left.hold_starts_at(), left.deadline) == (at(250), at(280))


def test_resume_restarts_the_clock_from_the_remaining_time(lobby: SessionState) -> None:
    state = holding(lobby)
    paused = step(state, Pause(user_id=ALICE, version=state.version), GET + 20).state
    resumed = step(paused, Resume(user_id=BOB, version=paused.version), 300)
    assert resumed.state.phase is Phase.HOLDING
    assert resumed.state.deadline == at(300 + 40)
    assert resumed.state.remaining is None
    assert resumed.effects == (
        ShowResumed(Seat.B),
        ArmTimer(at(340), resumed.state.version, TimerKind.HOLD),
    )


def test_the_hold_timer_armed_before_a_pause_is_ignored_after_it(lobby: SessionState) -> None:
    state = holding(lobby)
    paused = step(state, Pause(user_id=ALICE, version=state.version), 20).state
    resumed = step(paused, Resume(user_id=BOB, version=paused.version), 30).state
    stale = step(resumed, TimerElapsed(version=state.version), 60)
    assert stale == Transition(resumed, ())


def test_resume_when_not_paused_is_refused_as_not_now(lobby: SessionState) -> None:
    state = holding(lobby)
    assert refusal(state, Resume(user_id=ALICE, version=state.version)) is EventRefusal.NOT_NOW


def test_a_second_pause_is_refused_as_already(lobby: SessionState) -> None:
    state = holding(lobby)
    paused = step(state, Pause(user_id=ALICE, version=state.version), 1).state
    assert refusal(paused, Pause(user_id=BOB, version=paused.version)) is EventRefusal.ALREADY


def test_a_pause_in_the_lobby_is_refused_as_not_now(lobby: SessionState) -> None:
    assert refusal(lobby, Pause(user_id=ALICE, version=lobby.version)) is EventRefusal.NOT_NOW


def test_a_paused_setup_resumes_into_the_same_setup_with_readiness_kept(
    lobby: SessionState,
) -> None:
    setup = both_join(lobby)
    one = step(setup, Ready(user_id=ALICE, version=setup.version)).state
    paused = step(one, Pause(user_id=BOB, version=one.version), 10).state
    assert paused.remaining is None
    resumed = step(paused, Resume(user_id=ALICE, version=paused.version), 50)
    assert resumed.state.phase is Phase.SETUP
    assert resumed.state.ready == {Seat.A}
    assert resumed.state.deadline == at(50) + SETUP_IDLE_LIMIT
    assert resumed.effects[0] == ShowResumed(Seat.A)
    after = step(resumed.state, Ready(user_id=BOB, version=resumed.state.version), 55)
    assert after.state.phase is Phase.HOLDING


# --- time up, sides, turns, roles ------------------------------------------------------


def test_when_a_per_side_hold_is_up_the_switch_and_the_left_side_follow_by_themselves(
    lobby: SessionState,
) -> None:
    state = holding(lobby)
    state = time_up(state, 60).state  # setup fold B
    state = time_up(both_ready(state, 60), 120).state  # setup twist A
    right = both_ready(state, 130)
    assert (right.phase, right.step.side, right.step.receiver) == (
        Phase.HOLDING,
        Side.RIGHT,
        Seat.A,
    )
    switch = time_up(right, 160)
    assert switch.state.phase is Phase.SWITCHING
    # The small routine's twist gives 12 s to change sides (tests/routines/conftest.py).
    assert switch.state.deadline == at(172)
    assert switch.effects == (
        ShowStep(Seat.A, 7),
        ShowStep(Seat.B, 7),
        ArmTimer(at(172), switch.state.version, TimerKind.HOLD),
    )
    left = time_up(switch.state, 172).state
    assert (left.phase, left.step.side, left.deadline) == (Phase.HOLDING, Side.LEFT, at(202))


def test_after_the_last_hold_of_a_turn_both_get_the_next_turns_setup(
    lobby: SessionState,
) -> None:
    state = holding(lobby)
    moved = time_up(state, 60)
    assert moved.state.phase is Phase.SETUP
    assert moved.state.ready == frozenset()
    assert moved.effects == (
        ShowStep(Seat.A, 3),
        ShowStep(Seat.B, 3),
        ArmTimer(at(60) + SETUP_IDLE_LIMIT, moved.state.version, TimerKind.IDLE),
    )


def test_roles_swap_after_each_turn_in_per_exercise_mode(lobby: SessionState) -> None:
    state = time_up(holding(lobby), 60).state
    assert state.step.exercise.id == "fold"
    assert state.step.role_of(Seat.B) is Role.RECEIVER
    assert state.step.role_of(Seat.A) is Role.HELPER


def test_roles_follow_the_whole_routine_mode(small_routine: Routine) -> None:
    plan = build_plan(small_routine, PlanOptions(swap_mode=SwapMode.WHOLE_ROUTINE))
    state = holding(new_session((ALICE, BOB), plan, T0, joined=frozenset({Seat.A})))
    state = time_up(state, 60).state
    assert (state.step.exercise.id, state.step.receiver) == ("twist", Seat.A)


def test_the_last_hold_ending_finishes_the_session_as_completed(lobby: SessionState) -> None:
    state = drive_to(holding(lobby), 12)
    end = time_up(state, 500)
    assert end.state.phase is Phase.FINISHED
    assert end.state.end_reason is EndReason.COMPLETED
    assert end.state.ended_at == at(500)
    assert end.state.holds_done == 6
    assert end.state.held_seconds == 60 + 60 + 4 * 30
    assert end.effects == (CancelTimer(), Finished(EndReason.COMPLETED), PostToGroup("end"))


def test_a_completed_session_counts_every_exercise_as_done(lobby: SessionState) -> None:
    end = time_up(drive_to(holding(lobby), 12), 500).state
    assert end.exercises_done == end.plan.exercise_count == 2


# --- skip and stop ---------------------------------------------------------------------


def test_skip_moves_both_partners_to_the_next_step(lobby: SessionState) -> None:
    state = holding(lobby)
    skipped = step(state, Skip(user_id=BOB, version=state.version), 10)
    assert skipped.state.step_number == 3
    assert skipped.state.holds_done == 0
    assert skipped.state.skips == 1
    assert skipped.effects[:2] == (ShowStep(Seat.A, 3), ShowStep(Seat.B, 3))


def test_skipping_a_setup_skips_that_whole_turn(lobby: SessionState) -> None:
    state = drive_to(holding(lobby), 5)
    assert state.phase is Phase.SETUP
    skipped = step(state, Skip(user_id=ALICE, version=state.version), 130).state
    assert (skipped.phase, skipped.step_number, skipped.step.receiver) == (
        Phase.SETUP,
        9,
        Seat.B,
    )


def test_skipping_a_right_side_hold_goes_to_the_switch(lobby: SessionState) -> None:
    right = drive_to(holding(lobby), 6)
    skipped = step(right, Skip(user_id=ALICE, version=right.version), 125).state
    assert (skipped.phase, skipped.step.kind) == (Phase.SWITCHING, StepKind.SWITCH)


def test_skipping_while_paused_skips_the_paused_step(lobby: SessionState) -> None:
    state = holding(lobby)
    paused = step(state, Pause(user_id=ALICE, version=state.version), 10).state
    skipped = step(paused, Skip(user_id=BOB, version=paused.version), 20).state
    assert (skipped.phase, skipped.step_number) == (Phase.SETUP, 3)
    assert skipped.remaining is None
    assert skipped.paused_phase is None


def test_skipping_the_last_step_finishes_the_session(lobby: SessionState) -> None:
    state = holding(lobby)
    while state.phase is not Phase.FINISHED:
        state = step(state, Skip(user_id=ALICE, version=state.version)).state
    assert state.end_reason is EndReason.COMPLETED
    assert state.holds_done == 0


def test_a_session_whose_holds_were_all_skipped_counts_no_exercise_done(
    lobby: SessionState,
) -> None:
    state = holding(lobby)
    while state.step_number < 5:
        state = step(state, Skip(user_id=ALICE, version=state.version)).state
    stopped = step(state, Stop(user_id=ALICE, version=state.version)).state
    assert stopped.holds_done == 0
    assert stopped.exercises_done == 0


def test_skip_in_the_lobby_is_refused_as_not_now(lobby: SessionState) -> None:
    assert refusal(lobby, Skip(user_id=ALICE, version=lobby.version)) is EventRefusal.NOT_NOW


def test_stop_ends_the_session_for_both_and_records_how_far_they_got(
    lobby: SessionState,
) -> None:
    state = time_up(holding(lobby), 60).state
    stopped = step(state, Stop(user_id=BOB, version=state.version), 70)
    assert stopped.state.phase is Phase.FINISHED
    assert stopped.state.end_reason is EndReason.STOPPED
    assert stopped.state.ended_at == at(70)
    assert stopped.state.step_number == 3
    assert (stopped.state.steps_done, stopped.state.holds_done) == (2, 1)
    assert stopped.state.exercises_done == 1
    assert stopped.effects == (CancelTimer(), Finished(EndReason.STOPPED), PostToGroup("end"))


def test_stop_in_the_lobby_ends_it_without_a_line_in_the_group(lobby: SessionState) -> None:
    stopped = step(lobby, Stop(user_id=ALICE, version=lobby.version))
    assert stopped.state.end_reason is EndReason.STOPPED
    assert stopped.effects == (CancelTimer(), Finished(EndReason.STOPPED))


# --- ease off --------------------------------------------------------------------------


def test_ease_off_alerts_the_helper_at_once_without_stopping_the_clock(
    lobby: SessionState,
) -> None:
    state = holding(lobby)
    eased = step(state, EaseOff(user_id=ALICE, version=state.version), 12)
    assert eased.effects == (AlertHelper(Seat.B),)
    assert eased.state.phase is Phase.HOLDING
    assert eased.state.deadline == state.deadline
    assert eased.state.version == state.version
    assert eased.state.ease_offs == 1
    assert time_up(eased.state, 60).state.step_number == 3


def test_ease_off_reaches_the_helper_once_per_hold_pauses_included(
    lobby: SessionState,
) -> None:
    state = holding(lobby)
    eased = step(state, EaseOff(user_id=ALICE, version=state.version), 12).state
    again = EaseOff(user_id=ALICE, version=eased.version)
    assert refusal(eased, again, 13) is EventRefusal.ALREADY_SENT
    paused = step(eased, Pause(user_id=BOB, version=eased.version), 14).state
    resumed = step(paused, Resume(user_id=BOB, version=paused.version), 15).state
    assert refusal(resumed, EaseOff(user_id=ALICE, version=resumed.version), 16) is (
        EventRefusal.ALREADY_SENT
    )
    # The snapshot keeps it: a restart does not open the door to a second alert.
    assert from_snapshot(to_snapshot(resumed), resumed.plan).eased_step == resumed.step_index
    # The next hold (the same stretch, Bob stretched) may ease off again.
    following = both_ready(time_up(resumed, 200).state, 200)
    assert step(following, EaseOff(user_id=BOB, version=following.version), 201).effects == (
        AlertHelper(Seat.A),
    )


def test_the_safety_note_waits_for_each_partner_who_owes_it_then_sets_up(
    plan: Plan,
) -> None:
    lobby = new_session(
        (ALICE, BOB), plan, T0, joined=frozenset({Seat.A}), safety_due=frozenset({Seat.B})
    )
    joined = step(lobby, Join(user_id=BOB, version=lobby.version), 1)
    safety = joined.state
    assert safety.phase is Phase.SAFETY
    assert joined.effects[:2] == (ShowStep(Seat.A, 1), ShowStep(Seat.B, 1))
    assert refusal(safety, Acknowledge(user_id=ALICE, version=safety.version)) is (
        EventRefusal.ALREADY
    )
    assert refusal(safety, Ready(user_id=BOB, version=safety.version)) is EventRefusal.NOT_NOW
    assert refusal(safety, Pause(user_id=BOB, version=safety.version)) is EventRefusal.NOT_NOW
    assert refusal(safety, Skip(user_id=BOB, version=safety.version)) is EventRefusal.NOT_NOW
    assert from_snapshot(to_snapshot(safety), plan).safety_due == frozenset({Seat.B})
    setup = step(safety, Acknowledge(user_id=BOB, version=safety.version), 2)
    assert (setup.state.phase, setup.state.step_number) == (Phase.SETUP, 1)
    assert setup.state.safety_due == frozenset()
    idle = step(safety, IdleTimeout(version=safety.version), 1000)
    assert idle.state.phase is Phase.ABANDONED


def test_ease_off_by_the_helper_is_refused_as_receiver_only(lobby: SessionState) -> None:
    state = holding(lobby)
    assert (
        refusal(state, EaseOff(user_id=BOB, version=state.version)) is EventRefusal.RECEIVER_ONLY
    )


@pytest.mark.parametrize("where", ["setup", "paused", "switch"])
def test_ease_off_outside_a_hold_is_refused_as_not_now(lobby: SessionState, where: str) -> None:
    state = holding(lobby)
    if where == "setup":
        state = time_up(state, 60).state
    elif where == "paused":
        state = step(state, Pause(user_id=ALICE, version=state.version)).state
    else:
        state = drive_to(state, 7)
        assert state.phase is Phase.SWITCHING
    receiver = state.partners[state.step.receiver]
    assert refusal(state, EaseOff(user_id=receiver, version=state.version)) is EventRefusal.NOT_NOW


# --- refusals and stale timers ---------------------------------------------------------


@pytest.mark.parametrize("user", [STRANGER, None])
def test_an_outsider_is_refused_and_nothing_changes(lobby: SessionState, user: int | None) -> None:
    state = holding(lobby)
    for event in (Pause(user_id=user, version=state.version), Stop(user_id=user, version=1)):
        assert refusal(state, event) is EventRefusal.NOT_A_PARTNER


def test_an_old_version_is_refused_as_out_of_date(lobby: SessionState) -> None:
    setup = both_join(lobby)
    state = both_ready(setup)
    for event in (
        Ready(user_id=ALICE, version=setup.version),
        Stop(user_id=BOB, version=state.version - 1),
        Skip(user_id=BOB, version=state.version + 1),
    ):
        assert refusal(state, event) is EventRefusal.OUT_OF_DATE


def test_a_tap_after_the_session_finished_is_refused_as_ended(lobby: SessionState) -> None:
    state = holding(lobby)
    ended = step(state, Stop(user_id=ALICE, version=state.version)).state
    for event in (
        Resume(user_id=BOB, version=ended.version),
        Stop(user_id=ALICE, version=state.version),
    ):
        assert refusal(ended, event) is EventRefusal.SESSION_ENDED


def test_an_outsider_is_told_nothing_about_an_ended_session(lobby: SessionState) -> None:
    ended = step(lobby, Stop(user_id=ALICE, version=lobby.version)).state
    assert (
        refusal(ended, Stop(user_id=STRANGER, version=ended.version)) is EventRefusal.NOT_A_PARTNER
    )


def test_a_timer_event_for_an_old_version_is_ignored(lobby: SessionState) -> None:
    state = holding(lobby)
    moved = time_up(state, 60).state
    for event in (TimerElapsed(version=state.version), IdleTimeout(version=lobby.version)):
        assert step(moved, event, 61) == Transition(moved, ())


def test_a_timer_event_of_the_wrong_kind_is_ignored(lobby: SessionState) -> None:
    state = holding(lobby)
    assert step(state, IdleTimeout(version=state.version)) == Transition(state, ())
    setup = both_join(lobby)
    assert step(setup, TimerElapsed(version=setup.version)) == Transition(setup, ())


def test_a_timer_event_after_the_end_is_ignored(lobby: SessionState) -> None:
    ended = step(lobby, Stop(user_id=ALICE, version=lobby.version)).state
    assert step(ended, IdleTimeout(version=ended.version)) == Transition(ended, ())


# --- idle limits -----------------------------------------------------------------------


def test_a_lobby_left_idle_past_its_limit_is_abandoned(lobby: SessionState) -> None:
    timeout = step(lobby, IdleTimeout(version=lobby.version), 600)
    assert timeout.state.phase is Phase.ABANDONED
    assert timeout.state.end_reason is EndReason.ABANDONED
    assert timeout.effects == (CancelTimer(), Finished(EndReason.ABANDONED))


def test_a_setup_left_idle_is_abandoned_even_after_one_partner_was_ready(
    lobby: SessionState,
) -> None:
    setup = both_join(lobby)
    one = step(setup, Ready(user_id=ALICE, version=setup.version), 30).state
    timeout = step(one, IdleTimeout(version=setup.version), 600)
    assert timeout.state.phase is Phase.ABANDONED


def test_a_pause_left_idle_is_abandoned(lobby: SessionState) -> None:
    state = holding(lobby)
    paused = step(state, Pause(user_id=ALICE, version=state.version), 10).state
    assert paused.deadline == at(10) + PAUSED_IDLE_LIMIT
    timeout = step(paused, IdleTimeout(version=paused.version), 1810)
    assert timeout.state.phase is Phase.ABANDONED


# --- recovery after a restart ----------------------------------------------------------


def test_recover_pauses_a_hold_whose_deadline_passed_while_the_bot_was_down(
    lobby: SessionState,
) -> None:
    state = holding(lobby)
    recovered = step(state, Recover(version=state.version), 200)
    assert recovered.state.phase is Phase.PAUSED
    assert recovered.state.remaining == timedelta(0)
    assert recovered.state.paused_by is None
    assert recovered.state.version == state.version + 1
    assert recovered.effects == (
        ShowPaused(None),
        ArmTimer(at(200) + PAUSED_IDLE_LIMIT, recovered.state.version, TimerKind.IDLE),
    )


def test_resume_after_recover_moves_on_to_the_next_step(lobby: SessionState) -> None:
    state = holding(lobby)
    recovered = step(state, Recover(version=state.version), 200).state
    resumed = step(recovered, Resume(user_id=BOB, version=recovered.version), 210)
    assert (resumed.state.phase, resumed.state.step_number) == (Phase.SETUP, 3)
    assert resumed.state.holds_done == 1
    assert resumed.effects[:2] == (ShowStep(Seat.A, 3), ShowStep(Seat.B, 3))


def test_recover_rearms_a_hold_whose_deadline_is_still_ahead(lobby: SessionState) -> None:
    state = holding(lobby)
    recovered = step(state, Recover(version=state.version), 30)
    assert recovered == Transition(state, (ArmTimer(at(GET + 60), state.version, TimerKind.HOLD),))


def test_recover_inside_the_get_set_window_rearms_the_hold_as_it_was(
    lobby: SessionState,
) -> None:
    state = holding(lobby)
    recovered = step(state, Recover(version=state.version), GET / 2)
    assert recovered == Transition(state, (ArmTimer(at(GET + 60), state.version, TimerKind.HOLD),))


def test_recover_rearms_the_idle_timer_of_a_waiting_session(lobby: SessionState) -> None:
    setup = both_join(lobby)
    recovered = step(setup, Recover(version=setup.version), 5000)
    assert recovered.state == setup
    assert recovered.effects == (ArmTimer(setup.deadline or T0, setup.version, TimerKind.IDLE),)


# --- a whole session -------------------------------------------------------------------


def test_a_whole_lower_back_session_takes_both_partners_through_every_hold() -> None:
    plan = build_plan(load_library()["lower-back"], PlanOptions())
    state = new_session((ALICE, BOB), plan, T0, time_scale=0.05)
    state = step(state, Join(user_id=ALICE, version=state.version)).state
    state = step(state, Join(user_id=BOB, version=state.version)).state
    clock = 0.0
    receivers: list[Seat] = []
    while not state.is_over:
        if state.phase is Phase.SETUP:
            receivers.append(state.step.receiver)
            transition = step(state, Ready(user_id=BOB, version=state.version), clock)
            transition = step(transition.state, Ready(user_id=ALICE, version=state.version), clock)
        else:
            assert state.deadline is not None
            clock = (state.deadline - T0).total_seconds()
            transition = time_up(state, clock)
        assert len(transition.effects) <= 4
        state = transition.state
    assert state.end_reason is EndReason.COMPLETED
    assert receivers == [Seat.A, Seat.B] * 7
    assert state.holds_done == 2 * (3 + 4 * 2)
    switches = sum(s.seconds for s in plan.steps if s.kind is StepKind.SWITCH)
    assert switches == 2 * (10 + 15 + 12 + 12)
    assert state.held_seconds == plan.total_seconds - switches
    # Every turn's first hold waited GET s (scaled) after its second Ready.
    assert clock == pytest.approx((plan.total_seconds + plan.turn_count * GET) * 0.05)


# --- snapshots -------------------------------------------------------------------------


def snapshots_of(lobby: SessionState) -> list[SessionState]:
    setup = both_join(lobby)
    one_ready = step(setup, Ready(user_id=ALICE, version=setup.version)).state
    held = holding(lobby)
    paused = step(held, Pause(user_id=BOB, version=held.version), 12.345678).state
    ended = step(paused, Stop(user_id=ALICE, version=paused.version), 20).state
    return [lobby, setup, one_ready, held, paused, ended]


def test_a_snapshot_survives_a_round_trip_through_json(lobby: SessionState) -> None:
    for state in snapshots_of(lobby):
        text = json.dumps(to_snapshot(state))
        assert from_snapshot(json.loads(text), state.plan) == state


def test_a_snapshot_restored_with_another_plan_is_refused(
    lobby: SessionState, small_routine: Routine
) -> None:
    data = to_snapshot(lobby)
    other = build_plan(small_routine, PlanOptions(first_receiver=Seat.B))
    with pytest.raises(SnapshotError, match="options"):
        from_snapshot(data, other)
    with pytest.raises(SnapshotError, match="routine"):
        from_snapshot(data, build_plan(load_library()["quick"]))


def test_a_malformed_snapshot_is_refused_with_a_snapshot_error(lobby: SessionState) -> None:
    data = to_snapshot(lobby)
    del data["phase"]
    with pytest.raises(SnapshotError, match="malformed"):
        from_snapshot(data, lobby.plan)
