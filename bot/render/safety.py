"""The safety note before a person's first session, and the card of the partner who waits."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import SESSION_SAFETY_OK, SESSION_STOP_ASK, pack

# Our own words; the facts are the usual ones for assisted stretching. One glance on a
# phone: who asks a doctor first, the one rule, and how to stop.
SAFETY_NOTE = (
    "<b>Before your first stretch together</b>\n"
    "Ask a doctor first if you have:\n"
    "• a recent back injury or back surgery\n"
    "• pain that runs down a leg\n"
    "• numbness or tingling\n"
    "• a pregnancy\n"
    "• osteoporosis\n\n"
    "<b>The rule:</b> a mild, easy pull and never pain. Keep breathing slowly.\n"
    "<b>To stop:</b> tap Ease off or Pause, or simply say so. Your partner stops at once.\n\n"
    "Tap Got it once you have read this. You will only see it this once."
)

ACKNOWLEDGED = "Thanks. On to the first stretch once you're both set."


def safety_card(session_id: int, version: int) -> tuple[str, InlineKeyboardMarkup]:
    return SAFETY_NOTE, safety_keyboard(session_id, version)


def safety_keyboard(session_id: int, version: int) -> InlineKeyboardMarkup:
    got_it = pack(SESSION_SAFETY_OK, session_id, version)
    stop = pack(SESSION_STOP_ASK, session_id, version)
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Got it", callback_data=got_it)],
            [InlineKeyboardButton("Stop", callback_data=stop)],
        ]
    )


def waiting_card(session_id: int, version: int, reader: str) -> tuple[str, InlineKeyboardMarkup]:
    """For the partner who has read the note before: the other one reads it now."""
    text = (
        f"{escape(reader)} is reading a short safety note before your first stretch "
        "together. The first setup comes as soon as they tap Got it."
    )
    return text, waiting_keyboard(session_id, version)


def waiting_keyboard(session_id: int, version: int) -> InlineKeyboardMarkup:
    stop = InlineKeyboardButton("Stop", callback_data=pack(SESSION_STOP_ASK, session_id, version))
    return InlineKeyboardMarkup([[stop]])
