"""What each partner does at a step, in words: the routine file's own, with the side."""

from __future__ import annotations

from routines.plan import FIRST_SIDE, Role, Seat, Side, Step, StepKind

_SIDE = {Side.RIGHT: "Right side", Side.LEFT: "Left side"}
_SWITCH = {
    Role.RECEIVER: (
        "Switch sides: come out of the stretch slowly, then settle into the mirror image "
        "on your left."
    ),
    Role.HELPER: (
        "Switch sides: ease your partner out of the stretch, then set up the mirror image "
        "on their left."
    ),
}


def instruction(step: Step, seat: Seat) -> str:
    """What this partner does now, as plain text (callers escape it for HTML)."""
    words = step.routine_words(seat)
    if step.kind is StepKind.SWITCH or words is None:
        # The file's own left-side words where it has them: no mirror image to work out.
        return f"Switch sides. {words}" if words else _SWITCH[step.role_of(seat)]
    if step.kind is StepKind.SETUP:
        return f"{words} {_SIDE[FIRST_SIDE]} first." if step.exercise.per_side else words
    return words if step.side is None else f"{_SIDE[step.side]}. {words}"
