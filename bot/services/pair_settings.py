"""/settings as units of work: read a pair's settings, change one of them.

A change is one short transaction on the pair's row; the next session, reminder and
recap read the row as it then is. Only the pair's two members may change it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from enum import IntEnum

from bot.services.pairing import PairingRefusal, PairingRefused
from bot.services.reminder_slots import next_recap_at
from bot.services.resources import Resources
from routines.pair_settings import FIRST_RECEIVERS, SWAP_MODES
from routines.recap import recap_time
from storage.records import PairRecord, UserRecord

__all__ = [
    "DEFAULT_ROUTINE",
    "Changed",
    "PairSettings",
    "Setting",
    "change",
    "default_routine_of",
    "settings_of",
]

log = logging.getLogger(__name__)

# The routine a pair starts until it picks its own.
DEFAULT_ROUTINE = "lower-back"


class Setting(IntEnum):
    """Which setting a button changes; its value is the position of the choice."""

    FIRST = 0  # who is stretched first: routines.pair_settings.FIRST_RECEIVERS
    SWAP = 1  # how roles swap: SWAP_MODES
    ROUTINE = 2  # the default routine: the library's ids, sorted
    RECAP = 3  # the weekly recap: 0 off, 1 on


@dataclass(frozen=True, slots=True)
class PairSettings:
    """A pair, its members, and the local time on Sundays its weekly recap comes."""

    pair: PairRecord
    users: dict[int, UserRecord]
    recap_time: time


@dataclass(frozen=True, slots=True)
class Changed:
    now: PairSettings
    changed: bool  # False: the setting already had that value (a second tap)


def default_routine_of(pair: PairRecord, routine_ids: Sequence[str]) -> str:
    """The routine a bare /stretch and a reminder's Start begin for this pair."""
    if pair.default_routine is not None and pair.default_routine in routine_ids:
        return pair.default_routine
    return DEFAULT_ROUTINE if DEFAULT_ROUTINE in routine_ids else sorted(routine_ids)[0]


def choices(setting: Setting, routine_ids: Sequence[str]) -> int:
    """How many values a setting has: the range a button's value must be in."""
    return {
        Setting.FIRST: len(FIRST_RECEIVERS),
        Setting.SWAP: len(SWAP_MODES),
        Setting.ROUTINE: len(routine_ids),
        Setting.RECAP: 2,
    }[setting]


async def settings_of(data: Resources, user_id: int, pair_id: int) -> PairSettings:
    """The pair's settings, for one of its two members."""
    async with data.db.unit(read_only=True) as unit:
        pair = await unit.pairs.get(pair_id)
        if pair is None:
            raise PairingRefused(PairingRefusal.GONE)
        if not pair.has_member(user_id):
            raise PairingRefused(PairingRefusal.NOT_YOURS)
        users = await unit.users.get_many(list(pair.members))
        times = await unit.reminders.slot_times([pair.id])
    return PairSettings(pair, users, recap_time(times[pair.id]))


async def change(
    data: Resources,
    user_id: int,
    pair_id: int,
    setting: Setting,
    value: int,
    routine_ids: Sequence[str],
    now: datetime,
) -> Changed:
    """Set one setting to the choice at position `value` (checked by the caller)."""
    async with data.db.unit() as unit:
        pair = await unit.pairs.lock(pair_id)
        if pair is None:
            raise PairingRefused(PairingRefusal.GONE)
        if not pair.has_member(user_id):
            raise PairingRefused(PairingRefusal.NOT_YOURS)
        values: dict[str, object]
        if setting is Setting.FIRST:
            values = {"first_receiver": FIRST_RECEIVERS[value].value}
        elif setting is Setting.SWAP:
            values = {"swap_mode": SWAP_MODES[value].value}
        elif setting is Setting.ROUTINE:
            values = {"default_routine": sorted(routine_ids)[value]}
        else:
            on = bool(value)
            values = {"weekly_recap": on}
            if on != pair.weekly_recap:
                # Off: nothing is due. On again: due at the next Sunday's time, which a
                # recap of this Sunday already sent does not repeat (one row per Sunday).
                values["recap_due_at"] = await next_recap_at(unit, pair, now) if on else None
        changed = any(getattr(pair, name) != v for name, v in values.items())
        after = await unit.pairs.change_settings(pair_id, **values)
        assert after is not None  # locked above
        users = await unit.users.get_many(list(after.members))
        times = await unit.reminders.slot_times([pair.id])
        await unit.commit()
    if changed:
        log.info("pair %s: %s set to %s by user %s", pair_id, setting.name, value, user_id)
    return Changed(PairSettings(after, users, recap_time(times[pair.id])), changed)
