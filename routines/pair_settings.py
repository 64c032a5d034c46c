"""The pair's settings, as rules of plain values: who is stretched first, and the choices.

Stored as their string values on the pair's row; the sessions service asks
`first_receiver` whom to put in the first receiver's seat when a session starts.
"""

from __future__ import annotations

from enum import StrEnum

from routines.plan import SwapMode

__all__ = ["SWAP_MODES", "FirstReceiver", "first_receiver"]


class FirstReceiver(StrEnum):
    """Who is stretched first in a session."""

    STARTER = "starter"  # whoever started it (/stretch, Stretch now, a reminder's Start)
    PARTNER = "partner"  # the other one: the starter helps first
    ALTERNATE = "alternate"  # the one who helped first last time


# The order the settings message offers them in (the stored values are the enum's).
FIRST_RECEIVERS = (FirstReceiver.STARTER, FirstReceiver.PARTNER, FirstReceiver.ALTERNATE)
SWAP_MODES = (SwapMode.PER_EXERCISE, SwapMode.WHOLE_ROUTINE, SwapMode.ONE_WAY)


def first_receiver(rule: FirstReceiver, starter: int, partner: int, last_first: int | None) -> int:
    """The user stretched first in a new session of `starter` with `partner`.

    `last_first` is who was stretched first in the pair's previous session (None before
    the first one, or when that person is no longer in the pair): taking turns starts
    with the starter and then gives the first turn to whoever did not have it.
    """
    if rule is FirstReceiver.PARTNER:
        return partner
    if rule is FirstReceiver.ALTERNATE and last_first == starter:
        return partner
    return starter
