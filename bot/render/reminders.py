"""Texts and keyboards for daily reminders: pure functions of what the service decided."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from html import escape
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import REMINDER_REMOVE, REMINDER_SKIP, REMINDER_SNOOZE, REMINDER_START, pack
from routines.reminder_time import MAX_PAUSE_DAYS, MIN_PAUSE_DAYS, InputProblem, Weekdays
from storage.records import ReminderSlotRecord

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class Pitch:
    """What a reminder says about the routine it suggests."""

    title: str
    exercises: int
    minutes: int


# -- the reminder itself ---------------------------------------------------------------


def reminder(partner: str | None, pitch: Pitch, *, again: bool) -> str:
    opening = "Here's your snoozed reminder" if again else "Time to stretch"
    return (
        f"⏰ {opening}, together with {_partner(partner)}.\n"
        f"<b>{escape(pitch.title)}</b>: {pitch.exercises} stretches, "
        f"about {pitch.minutes} minutes."
    )


def reminder_keyboard(pair_id: int, delivery_id: int, *, again: bool) -> InlineKeyboardMarkup:
    """Start now, Snooze (only the first time) and Skip the rest of today."""
    skip_data = pack(REMINDER_SKIP, delivery_id)
    skip = InlineKeyboardButton("Skip the rest of today", callback_data=skip_data)
    snooze_data = pack(REMINDER_SNOOZE, delivery_id)
    snooze = InlineKeyboardButton("Snooze 15 min", callback_data=snooze_data)
    later = [skip] if again else [snooze, skip]
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("Start now", callback_data=pack(REMINDER_START, pair_id))], later]
    )


def start_keyboard(pair_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("Start now", callback_data=pack(REMINDER_START, pair_id))]]
    )


def partner_unreachable(partner: str | None) -> str:
    return (
        f"I couldn't reach {_partner(partner)} in private, so only you got this reminder. "
        "Ask them to open a chat with me and tap Start."
    )


def snoozed(until: datetime, zone: str) -> str:
    return f"Snoozed. I'll remind you both again at {clock(until, zone)}."


def snoozed_by(partner: str, until: datetime, zone: str) -> str:
    """The other partner's reminder, once one of them snoozed it."""
    return f"{escape(partner)} snoozed until {clock(until, zone)}. I'll remind you both then."


def skipped() -> str:
    return "Skipped the rest of today. See you next time!"


def skipped_by(partner: str) -> str:
    """The other partner's reminder, once one of them skipped the day."""
    return f"{escape(partner)} skipped the rest of today. See you next time!"


# -- answers to taps -------------------------------------------------------------------

NOT_YOURS = "This reminder belongs to another pair."
GONE = "This reminder is no longer active."
ALREADY_SNOOZED = "Already snoozed."
ALREADY_SKIPPED = "Today is already skipped."
CANNOT_SNOOZE = "This one can't be snoozed any more."
ALREADY_REMOVED = "That reminder was already removed."


# -- commands --------------------------------------------------------------------------

NO_PARTNER_PRIVATE = "You don't have a partner yet. Send /invite to pair up first."
NO_PARTNER_GROUP = (
    "No pair of yours calls this group home. Send the command to me in private, "
    "or pair up here with /pair."
)
REMIND_USAGE = (
    "Tell me when: /remind 07:30, /remind 7pm, /remind 19:00 weekdays "
    "or /remind 6:30pm mon,wed,fri."
)
PAUSE_USAGE = "Pause for how long? Like /pause 3 days or /pause 1 week (at most 60 days)."


_DAYS_HINT = "Please name the days: daily, weekdays, weekends or a list like mon,wed,fri."
_REFUSALS = {
    InputProblem.CLOCK_FORMAT: "Please give the time like 07:30, 7pm, 7:30pm or 19h.",
    InputProblem.CLOCK_RANGE: "That time does not exist. Please give a time from 00:00 to 23:59.",
    InputProblem.NO_DAYS: _DAYS_HINT,
    InputProblem.PAUSE_RANGE: (
        f"Please pause for {MIN_PAUSE_DAYS} to {MAX_PAUSE_DAYS} days, like /pause 7."
    ),
    InputProblem.PAUSE_FORMAT: PAUSE_USAGE,
}
# A day name the user typed is echoed at most this long: it may be arbitrarily long.
_ECHOED_DAY = 20


def refused(problem: InputProblem, token: str = "") -> str:
    """Why reminder input was refused, in one line (an unknown day is named, clipped)."""
    if problem is InputProblem.UNKNOWN_DAY:
        shown = token if len(token) <= _ECHOED_DAY else token[:_ECHOED_DAY] + "…"
        return f'I don\'t know the day "{escape(shown, quote=False)}". {_DAYS_HINT}'
    return _REFUSALS[problem]


def which_pair(command: str) -> str:
    return f"Which partner is /{command} for?"


def too_many(partner: str, limit: int) -> str:
    return (
        f"You already have {limit} reminders with {escape(partner)}, the most I keep. "
        "Remove one in /reminders first."
    )


def slot_set(
    partner: str, slot: ReminderSlotRecord, zone: str, *, added: bool, paused: bool
) -> str:
    lead = "Done! I'll remind you" if added else "Updated: I'll remind you"
    text = (
        f"{lead} and {escape(partner)} at {clock_of(slot.local_time)} "
        f"({days(slot.weekdays)}, {escape(zone)}). "
        f"Next one: {day_and_time(slot.next_due_at, zone)}."
    )
    if paused:
        text += " Reminders are paused right now; /resume turns them back on."
    return text


def slot_set_for_partner(
    partner: str | None, slot: ReminderSlotRecord, zone: str, *, added: bool
) -> str:
    """The other partner's note of a reminder one of them added or changed."""
    did = "added a reminder" if added else "changed a reminder"
    return (
        f"{_who(partner)} {did} for you both: {clock_of(slot.local_time)} "
        f"({days(slot.weekdays)}, {escape(zone)}). See them all in /reminders."
    )


def slot_list(
    partner: str,
    slots: Sequence[ReminderSlotRecord],
    zone: str,
    paused_until: datetime | None,
) -> str:
    if not slots:
        return f"No reminders with {escape(partner)} yet. Add one with /remind 07:30."
    lines = [f"<b>Reminders with {escape(partner)}</b> ({escape(zone)})"]
    lines += [f"{clock_of(slot.local_time)} · {days(slot.weekdays)}" for slot in slots]
    if paused_until is not None:
        lines.append(f"Paused, back on {day(paused_until, zone)}; /resume ends it sooner.")
    return "\n".join(lines)


def slot_list_keyboard(
    pair_id: int, slots: Sequence[ReminderSlotRecord]
) -> InlineKeyboardMarkup | None:
    if not slots:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"Remove {clock_of(slot.local_time)}",
                    callback_data=pack(REMINDER_REMOVE, pair_id, slot.id),
                )
            ]
            for slot in slots
        ]
    )


def paused(partner: str, until: datetime, zone: str) -> str:
    return (
        f"Reminders with {escape(partner)} are paused, back on {day(until, zone)}. "
        "Your streak is safe. /resume brings them back sooner."
    )


def resumed(partner: str, next_due: datetime | None, zone: str) -> str:
    text = f"Reminders with {escape(partner)} are back on."
    if next_due is not None:
        text += f" Next one: {day_and_time(next_due, zone)}."
    return text


def paused_for_partner(partner: str | None, until: datetime, zone: str) -> str:
    return (
        f"{_who(partner)} paused your reminders, back on {day(until, zone)}. "
        "Your streak is safe. /resume brings them back sooner."
    )


def resumed_for_partner(partner: str | None, next_due: datetime | None, zone: str) -> str:
    text = f"{_who(partner)} turned your reminders back on."
    if next_due is not None:
        text += f" Next one: {day_and_time(next_due, zone)}."
    return text


def not_paused(partner: str) -> str:
    return f"Reminders with {escape(partner)} aren't paused."


# -- small pieces ----------------------------------------------------------------------


def clock_of(local_time: time) -> str:
    return local_time.strftime("%H:%M")


def clock(instant: datetime, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def day_and_time(instant: datetime, zone: str) -> str:
    local = instant.astimezone(ZoneInfo(zone))
    return f"{_DAY_NAMES[local.weekday()]} {local.day} {local:%b}, {local:%H:%M}"


def day(instant: datetime, zone: str) -> str:
    local = instant.astimezone(ZoneInfo(zone))
    return f"{_DAY_NAMES[local.weekday()]} {local.day} {local:%b}"


def days(mask: int) -> str:
    """How a slot's days read in a list: "daily", "weekdays", "weekends", "Mon, Wed, Fri"."""
    weekdays = Weekdays(mask)
    named = {Weekdays.DAILY: "daily", Weekdays.WEEKDAYS: "weekdays", Weekdays.WEEKENDS: "weekends"}
    return named.get(weekdays) or ", ".join(_DAY_NAMES[day] for day in weekdays.weekdays())


def _who(name: str | None) -> str:
    """A partner's first name at the start of a sentence, escaped; "Your partner" if unseen."""
    return "Your partner" if name is None else escape(name)


def _partner(name: str | None) -> str:
    """A partner's first name, escaped; one whose name we never saw is "your partner"."""
    return "your partner" if name is None else escape(name)
