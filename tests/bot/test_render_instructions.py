"""The words each partner reads for a step: the routine's own, with the side to work on."""

from __future__ import annotations

from bot.render.instructions import instruction
from routines.loader import load_library
from routines.model import Exercise, Routine
from routines.plan import PlanOptions, Seat, Step, StepKind, build_plan


def _twist_turn() -> list[Step]:
    plan = build_plan(load_library()["lower-back"], PlanOptions())
    return [s for s in plan.steps if s.exercise.id == "supine-twist" and s.receiver is Seat.B]


def test_a_per_side_setup_says_which_side_comes_first() -> None:
    setup = _twist_turn()[0]
    assert instruction(setup, Seat.B) == f"{setup.exercise.receiver_setup} Right side first."
    assert instruction(setup, Seat.A) == f"{setup.exercise.helper_setup} Right side first."


def test_each_hold_of_a_per_side_stretch_starts_with_its_side() -> None:
    _, right, _, left = _twist_turn()
    assert instruction(right, Seat.B) == f"Right side. {right.exercise.receiver_during}"
    assert instruction(right, Seat.A) == f"Right side. {right.exercise.helper_during}"
    assert instruction(left, Seat.B) == f"Left side. {left.exercise.receiver_during}"


def test_the_switch_gives_each_role_the_routines_own_words_for_the_left_side() -> None:
    switch = _twist_turn()[2]
    twist = switch.exercise
    assert instruction(switch, Seat.B) == f"Switch sides. {twist.receiver_setup_left}"
    assert instruction(switch, Seat.A) == f"Switch sides. {twist.helper_setup_left}"
    assert "left knee" in instruction(switch, Seat.B)
    assert "mirror" not in instruction(switch, Seat.A)


def test_without_left_side_words_the_switch_asks_each_role_for_the_mirror_image() -> None:
    plain = Exercise("x", "X", "p", 10, True, "rs", "hs", "rd", "hd", ("s",), 10)
    switch = build_plan(Routine("r", "R", "S", (plain,))).steps[2]
    assert switch.kind is StepKind.SWITCH
    assert instruction(switch, Seat.A) == (
        "Switch sides: come out of the stretch slowly, then settle into the mirror image "
        "on your left."
    )
    assert instruction(switch, Seat.B) == (
        "Switch sides: ease your partner out of the stretch, then set up the mirror image "
        "on their left."
    )


def test_a_stretch_held_once_reads_the_routines_words_as_they_are() -> None:
    plan = build_plan(load_library()["lower-back"], PlanOptions())
    setup, hold = plan.steps[:2]
    assert not setup.exercise.per_side
    assert instruction(setup, Seat.A) == setup.exercise.receiver_setup
    assert instruction(hold, Seat.B) == hold.exercise.helper_during


def test_every_instruction_is_plain_text_safe_for_html() -> None:
    for name, routine in load_library().items():
        for step in build_plan(routine, PlanOptions()).steps:
            for seat in Seat:
                text = instruction(step, seat)
                assert text, (name, step.index)
                assert not set(text) & set("<>&"), (name, step.index)
