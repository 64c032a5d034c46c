"""A plan expands a routine into the steps both partners walk through together."""

from __future__ import annotations

import pytest

from routines.loader import load_library
from routines.model import Cue, Exercise, Routine
from routines.plan import (
    FIRST_SIDE,
    SECOND_SIDE,
    Plan,
    PlanOptions,
    Role,
    Seat,
    Side,
    StepKind,
    SwapMode,
    build_plan,
)


@pytest.fixture(scope="module")
def lower_back() -> Routine:
    return load_library()["lower-back"]


def plan_of(routine: Routine, **options: object) -> Plan:
    return build_plan(routine, PlanOptions(**options))  # type: ignore[arg-type]


def test_the_full_lower_back_plan_has_seven_exercises_for_both_partners(
    lower_back: Routine,
) -> None:
    plan = plan_of(lower_back)
    setups = [s for s in plan.steps if s.kind is StepKind.SETUP]
    assert plan.exercise_count == 7
    assert plan.turn_count == len(setups) == 14
    assert [(s.exercise.id, s.receiver) for s in setups] == [
        (e.id, seat) for e in lower_back.exercises for seat in (Seat.A, Seat.B)
    ]


def test_the_last_four_exercises_hold_each_side_with_a_switch_between(
    lower_back: Routine,
) -> None:
    plan = plan_of(lower_back)
    for exercise in lower_back.exercises:
        turn = [s for s in plan.steps if s.exercise.id == exercise.id and s.receiver is Seat.A]
        shape = [(s.kind, s.side) for s in turn]
        if exercise.id in {"supine-hamstring", "supine-figure-4", "prone-quad", "supine-twist"}:
            assert shape == [
                (StepKind.SETUP, None),
                (StepKind.HOLD, Side.RIGHT),
                (StepKind.SWITCH, Side.LEFT),
                (StepKind.HOLD, Side.LEFT),
            ]
        else:
            assert shape == [(StepKind.SETUP, None), (StepKind.HOLD, None)]


def test_the_estimated_time_is_the_sum_of_holds_and_switches(lower_back: Routine) -> None:
    plan = plan_of(lower_back)
    holds = 2 * (60 + 30 + 30 + 4 * 2 * 30)
    # Per-side switches, as set in the file: hamstring, figure 4, quad, twist; two turns.
    switches = 2 * (10 + 15 + 12 + 12)
    assert plan.total_seconds == holds + switches
    assert plan.total_seconds == sum(s.seconds for s in plan.steps if s.is_timed)
    assert all(s.seconds == 0 for s in plan.steps if s.kind is StepKind.SETUP)


def test_steps_are_numbered_from_one_without_gaps(lower_back: Routine) -> None:
    plan = plan_of(lower_back)
    assert [s.index for s in plan.steps] == list(range(1, plan.step_count + 1))


def test_whole_routine_mode_does_everything_for_one_partner_then_the_other(
    lower_back: Routine,
) -> None:
    plan = plan_of(lower_back, swap_mode=SwapMode.WHOLE_ROUTINE, first_receiver=Seat.B)
    setups = [s for s in plan.steps if s.kind is StepKind.SETUP]
    assert [s.receiver for s in setups] == [Seat.B] * 7 + [Seat.A] * 7
    assert [s.exercise_number for s in setups] == list(range(1, 8)) * 2


def test_one_way_mode_stretches_only_the_first_receiver(lower_back: Routine) -> None:
    plan = plan_of(lower_back, swap_mode=SwapMode.ONE_WAY, first_receiver=Seat.B)
    assert {s.receiver for s in plan.steps} == {Seat.B}
    assert plan.turn_count == 7
    assert plan.total_seconds == plan_of(lower_back).total_seconds / 2


def test_per_exercise_mode_lets_the_chosen_partner_go_first(lower_back: Routine) -> None:
    plan = plan_of(lower_back, first_receiver=Seat.B)
    setups = [s for s in plan.steps if s.kind is StepKind.SETUP]
    assert [s.receiver for s in setups[:4]] == [Seat.B, Seat.A, Seat.B, Seat.A]


def test_the_hold_scale_stretches_holds_and_switches(lower_back: Routine) -> None:
    plan = plan_of(lower_back, hold_scale=0.5)
    assert plan.steps[1].seconds == 30
    assert plan.total_seconds == plan_of(lower_back).total_seconds / 2


@pytest.mark.parametrize("scale", [0.0, -1.0, 11.0])
def test_a_hold_scale_out_of_range_is_refused(scale: float) -> None:
    with pytest.raises(ValueError, match="hold_scale"):
        PlanOptions(hold_scale=scale)


def test_each_partner_reads_their_own_role_and_the_routines_words_for_it(
    lower_back: Routine,
) -> None:
    setup, hold = plan_of(lower_back).steps[:2]
    exercise = setup.exercise
    assert setup.role_of(Seat.A) is Role.RECEIVER
    assert setup.role_of(Seat.B) is Role.HELPER
    assert setup.routine_words(Seat.A) == exercise.receiver_setup
    assert setup.routine_words(Seat.B) == exercise.helper_setup
    assert hold.routine_words(Seat.A) == exercise.receiver_during
    assert hold.routine_words(Seat.B) == exercise.helper_during


def test_per_side_steps_say_which_side_and_a_switch_reads_each_roles_left_side_words(
    lower_back: Routine,
) -> None:
    plan = plan_of(lower_back)
    twist = [s for s in plan.steps if s.exercise.id == "supine-twist" and s.receiver is Seat.B]
    setup, first, switch, second = twist
    assert (setup.side, first.side, switch.side, second.side) == (
        None,
        FIRST_SIDE,
        SECOND_SIDE,
        SECOND_SIDE,
    )
    assert (FIRST_SIDE, SECOND_SIDE) == (Side.RIGHT, Side.LEFT)
    # B is stretched in this turn, A helps.
    assert switch.routine_words(Seat.B) == switch.exercise.receiver_setup_left
    assert switch.routine_words(Seat.A) == switch.exercise.helper_setup_left
    assert switch.routine_words(Seat.A) is not None


def test_a_switch_without_left_side_words_in_the_file_has_no_routine_words() -> None:
    exercise = Exercise("x", "X", "p", 10, True, "rs", "hs", "rd", "hd", ("s",), 10)
    switch = build_plan(Routine("r", "R", "S", (exercise,))).steps[2]
    assert switch.kind is StepKind.SWITCH
    assert switch.routine_words(Seat.A) is switch.routine_words(Seat.B) is None


def test_options_survive_a_round_trip_through_a_dict() -> None:
    options = PlanOptions(Seat.B, SwapMode.ONE_WAY, 1.5)
    assert PlanOptions.from_dict(options.to_dict()) == options


def test_seat_other_is_the_partner() -> None:
    assert Seat.A.other is Seat.B
    assert Seat.B.other is Seat.A


def test_a_single_exercise_routine_makes_a_two_turn_plan() -> None:
    exercise = Exercise("x", "X", "p", 10, False, "rs", "hs", "rd", "hd", ("s",))
    plan = build_plan(Routine("r", "R", "S", (exercise,)))
    assert [(s.kind, s.receiver) for s in plan.steps] == [
        (StepKind.SETUP, Seat.A),
        (StepKind.HOLD, Seat.A),
        (StepKind.SETUP, Seat.B),
        (StepKind.HOLD, Seat.B),
    ]
    assert plan.total_seconds == 20


def test_each_switch_lasts_as_long_as_its_exercise_asks_scaled_like_the_holds(
    lower_back: Routine,
) -> None:
    for scale in (1.0, 0.5):
        plan = plan_of(lower_back, hold_scale=scale)
        switches = {s.exercise.id: s.seconds for s in plan.steps if s.kind is StepKind.SWITCH}
        assert switches == {
            "supine-hamstring": 10 * scale,
            "supine-figure-4": 15 * scale,
            "prone-quad": 12 * scale,
            "supine-twist": 12 * scale,
        }


def test_a_per_side_exercise_without_a_switch_time_cannot_be_planned() -> None:
    exercise = Exercise("x", "X", "p", 10, True, "rs", "hs", "rd", "hd", ("s",))
    with pytest.raises(ValueError, match="'x' has no switch_seconds"):
        build_plan(Routine("r", "R", "S", (exercise,)))


def test_a_holds_cues_come_at_their_moments_scaled_like_the_hold(lower_back: Routine) -> None:
    for scale in (1.0, 0.5):
        plan = plan_of(lower_back, hold_scale=scale)
        setup, hold = plan.steps[:2]
        assert hold.exercise.id == "childs-pose"
        assert hold.cue_moments == (30 * scale,)
        assert setup.cue_moments == ()
    switch = next(s for s in plan.steps if s.kind is StepKind.SWITCH)
    assert switch.cue_moments == ()


def test_a_cue_shows_from_its_moment_until_the_next_one() -> None:
    cues = (Cue(10, "r1", "h1"), Cue(20, "r2", "h2"))
    exercise = Exercise("x", "X", "p", 30, False, "rs", "hs", "rd", "hd", ("s",), cues=cues)
    hold = build_plan(Routine("r", "R", "S", (exercise,)), PlanOptions(hold_scale=2)).steps[1]
    assert hold.cue_moments == (20, 40)
    assert [hold.cue_at(t) for t in (0, 19.9, 20, 39, 40, 60)] == [
        None,
        None,
        cues[0],
        cues[0],
        cues[1],
        cues[1],
    ]
