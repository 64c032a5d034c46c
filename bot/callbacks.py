"""Compact, checked callback data: `<action>:<id>[:<id>...]`, within Telegram's 64 bytes.

Every button names its action and the object it acts on. Callback data comes from the
client, so anyone can forge it: every parse goes through `unpack`, which also checks that
each number fits where it is going (a PostgreSQL INTEGER column overflows at 2**31, and
the driver raises instead of finding nothing). Anything that does not parse or does not
fit becomes None, and the caller answers with the polite refusal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_BYTES = 64
INT4_MAX = 2**31 - 1
INT8_MAX = 2**63 - 1
_ACTION = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
# Exactly what `pack` writes: no sign on zero, no leading zeros, no spaces, ASCII digits
# only (Python's int() would also take "٣", " 3" and "3\n").
_PART = re.compile(r"0|-?[1-9][0-9]{0,18}", re.ASCII)


# -- every button's action code --------------------------------------------------------------
# One short code per action, so a button's data stays well within 64 bytes. The codes are
# kept here, together, so two features can never pick the same one; the comment after each
# says what follows it in the data.

# Sessions.
SESSION_JOIN = "sj"  # session id, version
SESSION_NOT_NOW = "sn"  # session id, version
SESSION_READY = "sr"  # session id, version
SESSION_PAUSE = "sp"  # session id, version
SESSION_RESUME = "su"  # session id, version
SESSION_SKIP = "sk"  # session id, version
SESSION_STOP = "ss"  # session id, version: the confirmed Stop
SESSION_STOP_ASK = "sa"  # session id, version: a card's Stop, which asks first
SESSION_KEEP_GOING = "sg"  # session id, version: the answer No to that question
SESSION_EASE_OFF = "se"  # session id, version
SESSION_RATE = "sf"  # session id, rating 1-5
SESSION_SAFETY_OK = "sy"  # session id, version: Got it under the safety note
STRETCH_WITH = "sw"  # pair id, routine position in the library
SESSION_SHOW = "sv"  # session id: send the tapper their current card again
ROUTINE_PREVIEW = "rv"  # routine position in the library (sorted ids)
ROUTINE_START = "rg"  # routine position in the library (sorted ids)

# Pairing, unpairing and time zones.
INVITE_ACCEPT = "inv_yes"  # invite id
INVITE_DECLINE = "inv_no"  # invite id
REQUEST_ACCEPT = "pair_yes"  # group request id
REQUEST_DECLINE = "pair_no"  # group request id
UNPAIR_PICK = "unpair_pick"  # pair id
UNPAIR_CONFIRM = "unpair_yes"  # pair id
UNPAIR_KEEP = "unpair_no"  # pair id
TIMEZONE_PICK = "tz_pick"  # pair id, zone key
TIMEZONE_CONFIRM = "tz_ok"  # the asker's user id, zone key (a place for an abbreviation)

# Reminders.
REMINDER_START = "rs"  # pair id
REMINDER_SNOOZE = "rz"  # delivery id
REMINDER_SKIP = "rk"  # delivery id
REMINDER_REMOVE = "rx"  # pair id, slot id
# The pair chosen for a reminder command, when the user has several partners.
PICK_REMIND = "rp"  # pair id, minutes after midnight, weekday mask
PICK_LIST = "rl"  # pair id
PICK_PAUSE = "rpa"  # pair id, days
PICK_RESUME = "rre"  # pair id

# History, progress and the user's data.
HISTORY_PAGE = "hp"  # subject (0 pair, 1 former partnership), its id, page
STREAK_PICK = "hs"  # pair id
PROGRESS_PICK = "hc"  # pair id
FORGET_YES = "fg_yes"  # the asker's user id
FORGET_NO = "fg_no"  # the asker's user id

# /settings and the weekly recap.
SETTINGS_PICK = "set_pick"  # pair id: show that pair's settings
SETTINGS_CHOOSE = "set"  # pair id, setting (services.pair_settings.Setting), choice position
RECAP_OFF = "recap_off"  # pair id: the recap's "Turn off weekly recap"


@dataclass(frozen=True, slots=True)
class Ints:
    """The whole numbers one place of a button may hold, both ends included."""

    low: int
    high: int

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.low <= value <= self.high


# A serial primary key in an INTEGER column: PostgreSQL starts them at 1.
ROW_ID = Ints(1, INT4_MAX)
# A counter kept in an INTEGER column, such as a session's version.
COUNTER = Ints(0, INT4_MAX)
# A person's Telegram id, kept in a BIGINT column (Telegram's ids pass 2**31).
USER_ID = Ints(1, INT8_MAX)


@dataclass(frozen=True, slots=True)
class ButtonData:
    action: str
    ids: tuple[int, ...]


def pack(action: str, *ids: int) -> str:
    """The callback data for a button; raises if it would break Telegram's limits."""
    if not _ACTION.match(action):
        raise ValueError(f"bad action name {action!r}")
    data = ":".join([action, *(str(int(i)) for i in ids)])
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data longer than {MAX_BYTES} bytes: {data!r}")
    return data


def unpack(data: str | None, action: str, *places: Ints) -> ButtonData | None:
    """Parse data made by `pack(action, ...)`, one number per place, each within it; or None."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    parts = data.split(":")
    if parts[0] != action or len(parts) != len(places) + 1:
        return None
    if not all(_PART.fullmatch(part) for part in parts[1:]):
        return None
    ids = tuple(int(part) for part in parts[1:])
    if not all(value in place for value, place in zip(ids, places, strict=True)):
        return None
    return ButtonData(action, ids)


def unpack_any(data: str | None, actions: Iterable[str], *places: Ints) -> ButtonData | None:
    """`unpack` for buttons that share a handler and a shape (Accept / Decline)."""
    for action in actions:
        button = unpack(data, action, *places)
        if button is not None:
            return button
    return None


def pattern(action: str) -> str:
    """The CallbackQueryHandler pattern that routes one action to its handler."""
    return rf"^{re.escape(action)}(:|$)"
