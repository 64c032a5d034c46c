"""The lines that describe a routine, shared by the lobby card, /routines and its preview,
so each shows the same length and the same stretches."""

from __future__ import annotations

from html import escape

from routines.model import Exercise, Routine
from routines.plan import Plan


def routine_line(routine: Routine, plan: Plan) -> str:
    """Title, size and the one length estimate (routines/plan.py `estimated_minutes`)."""
    return (
        f"<b>{escape(routine.title)}</b>: {plan.exercise_count} stretches, "
        f"about {plan.estimated_minutes} min"
    )


def stretch_line(number: int, exercise: Exercise) -> str:
    sides = ", each side (right first)" if exercise.per_side else ""
    return f"{number}. {escape(exercise.name)} — {exercise.hold_seconds} s{sides}"


def stretch_lines(routine: Routine) -> list[str]:
    """One short line per stretch, in the routine's order."""
    return [stretch_line(n, exercise) for n, exercise in enumerate(routine.exercises, 1)]
