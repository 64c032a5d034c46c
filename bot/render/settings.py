"""The /settings message, its buttons, and the line the other partner is told."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import SETTINGS_CHOOSE, pack
from bot.services.pair_settings import PairSettings, Setting, default_routine_of
from routines.model import Routine
from routines.pair_settings import FIRST_RECEIVERS, SWAP_MODES, FirstReceiver
from routines.plan import SwapMode

NO_PARTNER_PRIVATE = (
    "You don't have a partner yet, so there is nothing to set. Send /invite to pair up."
)
NO_PARTNER_GROUP = (
    "This group is not the home of a pair you are in. Send /settings to me in private."
)
WHICH_PAIR = "Whose settings do you want to see?"
SAVED = "Saved."
UNCHANGED = "That is already the setting."
NOT_YOURS = "These settings belong to another pair."
PAIR_GONE = "This partnership has ended."

# The words of each choice: on its button, and in the message and the partner's line.
_FIRST_BUTTON = {
    FirstReceiver.STARTER: "Who starts",
    FirstReceiver.PARTNER: "The other one",
    FirstReceiver.ALTERNATE: "Take turns",
}
_FIRST_LINE = {
    FirstReceiver.STARTER: "whoever starts a session is stretched first",
    FirstReceiver.PARTNER: "whoever starts a session helps first",
    FirstReceiver.ALTERNATE: "you take turns being stretched first",
}
_SWAP_BUTTON = {
    SwapMode.PER_EXERCISE: "Each stretch",
    SwapMode.WHOLE_ROUTINE: "Whole routine",
    SwapMode.ONE_WAY: "One way",
}
_SWAP_LINE = {
    SwapMode.PER_EXERCISE: "roles swap after each stretch",
    SwapMode.WHOLE_ROUTINE: "one of you does the whole routine, then the other",
    SwapMode.ONE_WAY: "only the first one is stretched, no swapping",
}


def _mark(label: str, chosen: bool) -> str:
    return f"✓ {label}" if chosen else label


def _routine_id(settings: PairSettings, library: Mapping[str, Routine]) -> str:
    return default_routine_of(settings.pair, sorted(library))


def settings_text(settings: PairSettings, me: int, library: Mapping[str, Routine]) -> str:
    """What is set now, one line a setting, and how to change it."""
    pair = settings.pair
    partner = settings.users.get(pair.partner_of(me))
    name = escape(partner.first_name) if partner else "your partner"
    routine = library[_routine_id(settings, library)]
    recap = f"on, Sundays at {settings.recap_time:%H:%M}" if pair.weekly_recap else "off"
    return (
        f"<b>Settings for you and {name}</b>\n"
        f"Stretched first: {_FIRST_LINE[FirstReceiver(pair.first_receiver)]}\n"
        f"Roles: {_SWAP_LINE[SwapMode(pair.swap_mode)]}\n"
        f"Routine for /stretch and reminders: {escape(routine.title)}\n"
        f"Weekly recap: {recap}\n\n"
        "Tap to change; your partner is told."
    )


def settings_keyboard(
    settings: PairSettings, library: Mapping[str, Routine]
) -> InlineKeyboardMarkup:
    """A row per setting; the current choice carries a tick."""
    pair = settings.pair

    def button(label: str, setting: Setting, value: int, chosen: bool) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            _mark(label, chosen), callback_data=pack(SETTINGS_CHOOSE, pair.id, setting, value)
        )

    first = [
        button(_FIRST_BUTTON[choice], Setting.FIRST, n, choice == pair.first_receiver)
        for n, choice in enumerate(FIRST_RECEIVERS)
    ]
    swap = [
        button(_SWAP_BUTTON[choice], Setting.SWAP, n, choice == pair.swap_mode)
        for n, choice in enumerate(SWAP_MODES)
    ]
    current = _routine_id(settings, library)
    routines = [
        button(library[key].title, Setting.ROUTINE, n, key == current)
        for n, key in enumerate(sorted(library))
    ]
    recap = [
        button("Weekly recap on", Setting.RECAP, 1, pair.weekly_recap),
        button("Off", Setting.RECAP, 0, not pair.weekly_recap),
    ]
    rows = [first, swap, *(routines[i : i + 2] for i in range(0, len(routines), 2)), recap]
    return InlineKeyboardMarkup(rows)


def told_partner(who: str, setting: Setting, value: int, library: Mapping[str, Routine]) -> str:
    """The one line the other partner gets: "Ana set: roles swap after each stretch"."""
    if setting is Setting.FIRST:
        what = _FIRST_LINE[FIRST_RECEIVERS[value]]
    elif setting is Setting.SWAP:
        what = _SWAP_LINE[SWAP_MODES[value]]
    elif setting is Setting.ROUTINE:
        what = f"/stretch and reminders start {escape(library[sorted(library)[value]].title)}"
    else:
        what = "weekly recap on" if value else "weekly recap off"
    return f"{escape(who)} set: {what}. See /settings."
