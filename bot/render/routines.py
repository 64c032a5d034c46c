"""/routines: every routine in short, and a preview of one with Start."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import ROUTINE_PREVIEW, ROUTINE_START, pack
from bot.render.session import routine_line
from routines.model import Exercise, Routine
from routines.plan import Plan

ROUTINES_TITLE = "<b>Routines</b>"


def routines_list(routines: list[tuple[Routine, Plan]]) -> tuple[str, InlineKeyboardMarkup]:
    """Each routine: its title, length and stretches; a button per routine for its preview.

    `routines` come in library order (sorted ids): a button carries the position.
    """
    blocks = [
        f"{routine_line(routine, plan)}\n"
        + escape(", ".join(exercise.name for exercise in routine.exercises))
        for routine, plan in routines
    ]
    text = "\n\n".join([ROUTINES_TITLE, *blocks, "Tap one to see each stretch."])
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(routine.title, callback_data=pack(ROUTINE_PREVIEW, position))]
            for position, (routine, _) in enumerate(routines)
        ]
    )
    return text, keyboard


def _stretch_line(number: int, exercise: Exercise) -> str:
    sides = ", each side (right first)" if exercise.per_side else ""
    return f"{number}. {escape(exercise.name)} — {exercise.hold_seconds} s{sides}"


def preview(routine: Routine, plan: Plan, position: int) -> tuple[str, InlineKeyboardMarkup]:
    """Each stretch in one line with its hold and sides, and Start."""
    lines = [_stretch_line(n, exercise) for n, exercise in enumerate(routine.exercises, 1)]
    text = (
        f"{routine_line(routine, plan)}\n{escape(routine.summary)}\n\n"
        + "\n".join(lines)
    )
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Start", callback_data=pack(ROUTINE_START, position))]]
    )
    return text, keyboard
