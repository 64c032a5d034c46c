"""The streak rule, as a pure function of dates: no clock, no database.

A day counts when the pair finished at least one hold on that local date. A day the
pair owed nothing does not break the streak: a weekday none of its reminder slots
falls on (for a weekday-only pair, the weekend), and a day whose reminder a pause
silenced. Today does not break it either, since the day is not over. A pair without
any reminder slot owes every day. Only days that count add to the streak; excused
days are passed over.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

EVERY_DAY = 0b111_1111
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Streaks:
    current: int
    best: int


def streaks(
    stretched: Iterable[date],
    today: date,
    *,
    slot_weekdays: int = 0,
    paused: Iterable[date] = (),
) -> Streaks:
    """The current and the best streak on `today`.

    `slot_weekdays` is the union of the pair's slots' weekday masks (Monday is bit 0);
    0, no slots, means every day is owed. `paused` holds the local dates a pause
    silenced. Days after `today` are ignored.
    """
    owed_mask = slot_weekdays or EVERY_DAY
    done = {day for day in stretched if day <= today}
    if not done:
        return Streaks(0, 0)
    excused = set(paused)
    run = best = 0
    day = min(done)
    while day <= today:
        if day in done:
            run += 1
            best = max(best, run)
        elif day != today and owed_mask >> day.weekday() & 1 and day not in excused:
            run = 0
        day += _ONE_DAY
    return Streaks(run, best)
