"""Compact, checked callback data: `<action>:<id>[:<id>...]`, within Telegram's 64 bytes.

Every button names its action and the object it acts on. Anything that does not parse
(an old client, a forged value) becomes None, and the caller answers politely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 64
_ACTION = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
_PART = re.compile(r"^-?\d{1,19}$")


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


def unpack(data: str | None, action: str, arity: int) -> ButtonData | None:
    """Parse data made by `pack(action, ...)` with exactly `arity` ids, or None."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    parts = data.split(":")
    if parts[0] != action or len(parts) != arity + 1:
        return None
    if not all(_PART.match(part) for part in parts[1:]):
        return None
    return ButtonData(action, tuple(int(part) for part in parts[1:]))


def pattern(action: str) -> str:
    """The CallbackQueryHandler pattern that routes one action to its handler."""
    return rf"^{re.escape(action)}(:|$)"
