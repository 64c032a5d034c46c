"""/routines: every routine in short, and a preview of one with Start."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import ROUTINE_PREVIEW, ROUTINE_START, pack
from bot.render.routine_lines import routine_line, stretch_lines
from routines.model import Routine
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


def preview(routine: Routine, plan: Plan, position: int) -> tuple[str, InlineKeyboardMarkup]:
    """Each stretch in one line with its hold and sides, and Start."""
    text = f"{routine_line(routine, plan)}\n{escape(routine.summary)}\n\n" + "\n".join(
        stretch_lines(routine)
    )
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Start", callback_data=pack(ROUTINE_START, position))]]
    )
    return text, keyboard
