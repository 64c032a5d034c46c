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
