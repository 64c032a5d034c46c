"""Texts for the first contact: welcome, help, the command menu."""

from __future__ import annotations

from html import escape

from telegram import BotCommand

from bot.render.routine_lines import routine_line
from routines.model import Routine
from routines.plan import Plan

# The answer to a tap on a button that is stale, malformed or forged: it changes nothing.
BUTTON_GONE = "This button no longer works."
# When handling an update failed on our side (the cause is in the log).
SORRY = "Sorry, something went wrong on my side. Please try again in a moment."

# (command, menu description, help line). One list feeds both the menu Telegram shows
# and /help, so the two never disagree.
PRIVATE_COMMANDS: tuple[tuple[str, str], ...] = (
    ("stretch", "Start a session with your partner"),
    ("routines", "The routines, each stretch, and Start"),
    ("invite", "Get a link that pairs you with someone"),
    ("partners", "Your partners, their time zone and group"),
    ("timezone", "Set your pair's time zone"),
    ("remind", "Add a daily reminder: /remind 07:30"),
    ("reminders", "List and remove reminders"),
    ("settings", "Who goes first, roles, routine, recap"),
    ("pause", "Pause reminders for a few days"),
    ("resume", "Resume reminders now"),
    ("history", "Your recent sessions"),
    ("streak", "Your pair's current and best streak"),
    ("progress", "A chart of sessions and back-feel"),
    ("export", "Everything I hold about you, as a file"),
    ("forget", "Delete everything I hold about you"),
    ("unpair", "End a partnership"),
    ("help", "What I can do"),
)
GROUP_COMMANDS: tuple[tuple[str, str], ...] = (
    ("pair", "Reply to your partner's message to pair up"),
    ("stretch", "Start a session with your partner"),
    ("routines", "The routines, each stretch, and Start"),
    ("remind", "Add a daily reminder for your pair"),
    ("reminders", "List and remove your pair's reminders"),
    ("timezone", "Set your pair's time zone"),
    ("settings", "Your pair's settings"),
    ("history", "Your pair's recent sessions"),
    ("streak", "Your pair's streak"),
    ("progress", "A chart of your pair's progress"),
    ("help", "What I can do"),
)


def menu(commands: tuple[tuple[str, str], ...]) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in commands]


# What the buttons of a running session do, for /help: short, as on the cards.
SESSION_BUTTONS = (
    "<b>During a session</b>\n"
    "Ready — you're in position; the hold starts when you both tapped it\n"
    "Pause / Resume, Skip, Stop — for both phones at once\n"
    "Ease off — the stretched partner asks the helper for less pressure, at once"
)


def help_text(routines: list[tuple[Routine, Plan]]) -> str:
    """The commands, the routines (`/stretch <id>`) and what the session buttons do."""
    private = "\n".join(f"/{name} — {escape(text)}" for name, text in PRIVATE_COMMANDS)
    listed = "\n".join(
        f"/stretch {escape(routine.id)} — {routine_line(routine, plan)}"
        for routine, plan in routines
    )
    return (
        "<b>What I can do</b>\n"
        f"{private}\n\n"
        "<b>In your pair's group</b>\n"
        "/pair — reply to your partner's message with it\n"
        "/stretch, /routines, /remind, /reminders, /timezone, /settings, /history, /streak, "
        "/progress "
        "— for the pair whose home it is\n\n"
        f"<b>Routines</b>\n{listed}\n\n"
        f"{SESSION_BUTTONS}"
    )


def unknown_command() -> str:
    return "I don't know that command. Send /help to see what I can do."
