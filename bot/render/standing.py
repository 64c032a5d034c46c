"""What /start, /help and a stray message say, by where the user stands.

Not paired: how to pair. Paired: with whom, and buttons for the next step. In a
live session: a button that brings back the current card. The keyboards reuse the
buttons of /stretch and /reminders, so a tap here does exactly what those do.
"""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import PICK_LIST, SESSION_SHOW, SETTINGS_PICK, STRETCH_WITH, pack
from bot.live_session import Live
from bot.render.pairs import partner_name
from bot.services.standing import Standing
from routines.engine import Phase

# The answers to "Back to my card": it came, or Telegram did not take it this time.
CARD_AGAIN = "Here is your card."
CARD_NOT_SENT = "I couldn't send your card just now. Tap again in a moment."

HOW_TO_PAIR = (
    "To begin, pair up: send /invite and share the link with your partner, "
    "or reply to their message in a group with /pair."
)


def _names(standing: Standing) -> list[str]:
    """The partners' names as typed: escape them for a text, not for a button label."""
    partners = standing.partners
    return [partner_name(p, partners.me, partners.users) for p in partners.pairs]


def _joined(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _session_line(live: Live, me: int) -> str:
    seat = live.state.seat_of(me)
    partner = escape(live.name_of(seat.other)) if seat is not None else "your partner"
    if live.state.phase is Phase.LOBBY:
        return f"You and {partner} are about to stretch: the session waits for you both."
    if live.state.phase is Phase.PAUSED:
        return f"Your session with {partner} is paused."
    if live.state.phase is Phase.SAFETY:
        return f"You and {partner} are about to stretch, after a short safety note."
    return f"You and {partner} are stretching right now (step {live.state.step.index})."


def where_you_are(standing: Standing) -> str:
    """One or two lines: the session, the partners, or how to pair."""
    if standing.live is not None:
        return (
            f"{_session_line(standing.live, standing.partners.me)}\n"
            "Tap below to get your current card again."
        )
    if not standing.paired:
        return HOW_TO_PAIR
    names = [escape(name) for name in _names(standing)]
    if len(names) == 1:
        return f"You and {names[0]} are partners. Stretch now, or set up your reminders."
    return f"Your partners: {_joined(names)}. Pick whom to stretch with."


def next_steps(standing: Standing, routine_position: int) -> InlineKeyboardMarkup | None:
    """The buttons for where the user stands; `routine_position` is the default routine's."""
    if standing.live is not None:
        back = InlineKeyboardButton(
            "Back to my card", callback_data=pack(SESSION_SHOW, standing.live.id)
        )
        return InlineKeyboardMarkup([[back]])
    if not standing.paired:
        return None
    pairs = standing.partners.pairs
    if len(pairs) == 1:
        (pair,) = pairs
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        "Stretch now", callback_data=pack(STRETCH_WITH, pair.id, routine_position)
                    ),
                    InlineKeyboardButton("Reminders", callback_data=pack(PICK_LIST, pair.id)),
                    InlineKeyboardButton("Settings", callback_data=pack(SETTINGS_PICK, pair.id)),
                ]
            ]
        )
    names = _names(standing)
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"Stretch with {name}",
                    callback_data=pack(STRETCH_WITH, pair.id, routine_position),
                ),
                InlineKeyboardButton("Reminders", callback_data=pack(PICK_LIST, pair.id)),
                InlineKeyboardButton("Settings", callback_data=pack(SETTINGS_PICK, pair.id)),
            ]
            for pair, name in zip(pairs, names, strict=True)
        ]
    )


def welcome(first_name: str, standing: Standing) -> str:
    return (
        f"Hi {escape(first_name)}! I coach two people through partner stretches, "
        "on both phones at once, and nudge you every day at the time you pick. 🤸\n\n"
        f"{where_you_are(standing)}\n"
        "All commands: /help"
    )


def stray_message_hint(standing: Standing) -> str:
    """The answer to a text, sticker or photo in private: I read commands and buttons."""
    return f"I only follow commands and buttons.\n{where_you_are(standing)}\nAll commands: /help"
