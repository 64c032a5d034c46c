"""The weekly recap: the week in three lines, and its two buttons."""

from __future__ import annotations

from datetime import date
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import PROGRESS_PICK, RECAP_OFF, pack
from routines.recap import WeekNumbers

TURNED_OFF = "Weekly recap is off. Turn it on again in /settings."
ALREADY_OFF = "Weekly recap is already off."


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _day(day: date) -> str:
    return f"{day.day} {day:%b}"


def _feel(value: float | None) -> str:
    return "no answer" if value is None else f"{value:.1f}"


def recap(week: WeekNumbers, me: int, partner_id: int, partner: str | None) -> str:
    """A title, then the week in three lines: sessions and minutes, streak, back-feel.

    A week without a session still gets its recap, shorter and warm: a nudge in the
    week's quiet moment is what brings a pair back, and the message carries the switch
    that turns it off.
    """
    name = escape(partner) if partner else "your partner"
    title = f"🗓 <b>Your week with {name}</b>, {_day(week.first_day)}–{_day(week.last_day)}"
    if week.sessions == 0:
        return (
            f"{title}\n"
            "No sessions this week, and that's fine.\n"
            f"Streak: {_plural(week.streak, 'day')}.\n"
            "Ten minutes together is all it takes to start again: /stretch"
        )
    return (
        f"{title}\n"
        f"{_plural(week.sessions, 'session')}, {_plural(week.minutes, 'minute')} of stretching.\n"
        f"Streak: {_plural(week.streak, 'day')}.\n"
        f"Back-feel: you {_feel(week.feel.get(me))}, {name} {_feel(week.feel.get(partner_id))}."
    )


def recap_keyboard(pair_id: int, *, with_off: bool = True) -> InlineKeyboardMarkup:
    """See the chart (what /progress draws), and the switch that turns the recap off."""
    rows = [[InlineKeyboardButton("See the chart", callback_data=pack(PROGRESS_PICK, pair_id))]]
    if with_off:
        rows.append(
            [InlineKeyboardButton("Turn off weekly recap", callback_data=pack(RECAP_OFF, pair_id))]
        )
    return InlineKeyboardMarkup(rows)
