"""Texts for the first contact: welcome, help, the command menu."""

from __future__ import annotations

from html import escape

from telegram import BotCommand

# The answer to a tap on a button that is stale, malformed or forged: it changes nothing.
BUTTON_GONE = "This button no longer works."
# When handling an update failed on our side (the cause is in the log).
SORRY = "Sorry, something went wrong on my side. Please try again in a moment."

# (command, menu description, help line). One list feeds both the menu Telegram shows
# and /help, so the two never disagree.
PRIVATE_COMMANDS: tuple[tuple[str, str], ...] = (
    ("stretch", "Start a session with your partner"),
    ("invite", "Get a link that pairs you with someone"),
    ("partners", "Your partners, their time zone and group"),
    ("timezone", "Set your pair's time zone"),
    ("remind", "Add a daily reminder: /remind 07:30"),
    ("reminders", "List and remove reminders"),
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
    ("remind", "Add a daily reminder for your pair"),
    ("reminders", "List and remove your pair's reminders"),
    ("timezone", "Set your pair's time zone"),
    ("history", "Your pair's recent sessions"),
    ("streak", "Your pair's streak"),
    ("progress", "A chart of your pair's progress"),
    ("help", "What I can do"),
)


def menu(commands: tuple[tuple[str, str], ...]) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in commands]


def welcome(first_name: str) -> str:
    return (
        f"Hi {escape(first_name)}! I coach two people through partner stretches, "
        "on both phones at once, and nudge you every day at the time you pick. 🤸\n\n"
        "To begin, pair up: send /invite and share the link with your partner, "
        "or reply to their message in a group with /pair.\n"
        "All commands: /help"
    )


def help_text() -> str:
    private = "\n".join(f"/{name} — {escape(text)}" for name, text in PRIVATE_COMMANDS)
    return (
        "<b>What I can do</b>\n"
        f"{private}\n\n"
        "<b>In your pair's group</b>\n"
        "/pair — reply to your partner's message with it\n"
        "/stretch, /remind, /reminders, /timezone, /history, /streak, /progress — for the "
        "pair whose home it is"
    )


def unknown_command() -> str:
    return "I don't know that command. Send /help to see what I can do."
