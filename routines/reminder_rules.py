"""The rules of daily reminders, as functions of plain values.

Which occurrence of a due slot to send, what a claimed reminder comes to (sent, paused,
skipped, already stretched, too late), what a partner's copy comes to when it is taken
up again, how long a failed copy waits, and whom to tell that the other partner could
not be reached. The services feed these rules what they read from the database and
write back what the rules say; nothing here reads a clock or does I/O.

The status names below are what the database stores for deliveries and copies.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from routines.reminder_time import Due, Weekdays, is_still_useful, next_due

__all__ = [
    "FIRST_RETRY",
    "LONGEST_RETRY",
    "MAX_SLOTS",
    "RETRY_GROWTH",
    "SNOOZABLE",
    "SNOOZE",
    "SNOOZED_BEFORE",
    "UNSETTLED",
    "CopyStatus",
    "Decision",
    "DeliveryStatus",
    "claim_status",
    "decide",
    "is_paused",
    "known_zone",
    "live_round",
    "local_today",
    "partners_to_tell",
    "retaken_copy_status",
    "retry_delay",
    "round_outcome",
]

MAX_SLOTS = 4
SNOOZE = timedelta(minutes=15)
# A copy whose send failed waits 5 s, then 15 s, 45 s, ... at most 5 minutes, and is
# tried until the grace window closes.
FIRST_RETRY = timedelta(seconds=5)
RETRY_GROWTH = 3
LONGEST_RETRY = timedelta(minutes=5)
# The instant just before a stored due instant, so that `next_due` finds that instant.
_JUST_BEFORE = timedelta(microseconds=1)


class DeliveryStatus(StrEnum):
    """Where one delivery stands; the first two are in flight, the rest are final."""

    CLAIMED = "claimed"  # written by the claim, the messages are being sent
    RESENDING = "resending"  # a snoozed reminder is being sent again
    SENT = "sent"
    SNOOZED = "snoozed"  # waiting for `snooze_due_at`
    RESENT = "resent"  # the snoozed reminder went out; no second snooze
    UNREACHABLE = "unreachable"  # neither partner could be reached
    FAILED = "failed"  # Telegram refused the request for every partner it did not reach
    SKIPPED = "skipped"  # "Skip today" (pressed before, or on this reminder)
    PAUSED = "paused"
    DONE = "done"  # the pair had already stretched that local day
    LATE_SKIPPED = "late-skipped"  # due longer ago than the grace window


# A reminder may be snoozed while its first round is out or done, once.
SNOOZABLE = (DeliveryStatus.CLAIMED, DeliveryStatus.SENT)
SNOOZED_BEFORE = (DeliveryStatus.SNOOZED, DeliveryStatus.RESENDING)


class CopyStatus(StrEnum):
    """Where one partner's copy of a reminder stands; the first two are unsettled."""

    SENDING = "sending"  # claimed, the message is being sent
    WAITING = "waiting"  # the send failed for a passing reason; tried again at retry_at
    SENT = "sent"
    UNREACHABLE = "unreachable"  # 403: blocked the bot, or never opened a private chat
    LATE = "late"  # still unsent when the grace window closed
    REFUSED = "refused"  # Telegram refused the request itself; trying again cannot help
    SUPERSEDED = "superseded"  # the pair's reminder moved on: snoozed, skipped, stretched


UNSETTLED = (CopyStatus.SENDING, CopyStatus.WAITING)


# -- the pair's zone, day and pause ----------------------------------------------------


def known_zone(name: str) -> ZoneInfo | None:
    """The time zone of that name, or None if this machine does not know it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_today(zone: ZoneInfo, now: datetime) -> date:
    return now.astimezone(zone).date()


def is_paused(paused_until: datetime | None, now: datetime) -> bool:
    return paused_until is not None and paused_until > now


# -- claiming a due slot ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a due slot: the occurrence to deliver and the slot's next instant."""

    occurrence: Due
    next_due_at: datetime
    late: bool  # the occurrence is past the grace window: record it, send nothing

    @property
    def local_date(self) -> date:
        return self.occurrence.local_date

    def is_due(self, now: datetime) -> bool:
        """False when the stored instant was not one of the slot's own (its zone changed
        without a reschedule): the slot then only moves to its real next occurrence."""
        return self.occurrence.at_utc <= now


def decide(
    local_time: time,
    days: Weekdays,
    zone: ZoneInfo,
    stored_due_at: datetime,
    now: datetime,
    grace: timedelta,
) -> Decision:
    """Which occurrence of a due slot to deliver now, and when the slot is due next.

    After downtime the stored instant may be long past: the newest occurrence still
    inside the grace window is sent instead; with none, the stored one is recorded as
    skipped for being late.
    """
    # The stored instant with the local date it was scheduled for (a gap can move it).
    occurrence = next_due(local_time, days, zone, stored_due_at - _JUST_BEFORE)
    late = not is_still_useful(occurrence.at_utc, now, grace)
    if late:
        recent = next_due(local_time, days, zone, now - grace - _JUST_BEFORE)
        if recent.at_utc <= now:
            occurrence, late = recent, False
    after = max(occurrence.at_utc, now) if late else occurrence.at_utc
    return Decision(
        occurrence=occurrence,
        next_due_at=next_due(local_time, days, zone, after).at_utc,
        late=late,
    )


def claim_status(
    *,
    late: bool,
    paused_until: datetime | None,
    skipped_on: date | None,
    stretched: bool,
    local_date: date,
    at: datetime,
) -> DeliveryStatus:
    """What a reminder for `local_date`, due `at`, comes to when it is claimed.

    CLAIMED means send it; every other status is final and nothing is sent. `stretched`
    says whether the pair already stretched on that local date.
    """
    if late:
        return DeliveryStatus.LATE_SKIPPED
    if is_paused(paused_until, at):
        return DeliveryStatus.PAUSED
    if skipped_on == local_date:
        return DeliveryStatus.SKIPPED
    if stretched:
        return DeliveryStatus.DONE
    return DeliveryStatus.CLAIMED


# -- one partner's copy ----------------------------------------------------------------


def live_round(again: bool) -> tuple[DeliveryStatus, DeliveryStatus]:
    """The delivery statuses under which a copy of that round may still be sent."""
    if again:
        return (DeliveryStatus.RESENDING, DeliveryStatus.RESENT)
    return (DeliveryStatus.CLAIMED, DeliveryStatus.SENT)


def retaken_copy_status(
    *, round_is_live: bool, paused: bool, stretched: bool, still_useful: bool
) -> CopyStatus:
    """What a copy comes to when it is taken up again (a retry, or a stopped process's
    claim): SENDING means send it now."""
    if not round_is_live or paused or stretched:
        return CopyStatus.SUPERSEDED
    if not still_useful:
        return CopyStatus.LATE
    return CopyStatus.SENDING


def retry_delay(attempts: int, asked: float = 0.0) -> timedelta:
    """How long a copy waits after its `attempts`-th failed send; at least the `asked`
    seconds Telegram asked for (a 429)."""
    growth: int = RETRY_GROWTH ** max(attempts - 1, 0)
    grown = FIRST_RETRY * growth
    return max(min(grown, LONGEST_RETRY), timedelta(seconds=asked))


def round_outcome(statuses: Sequence[str], again: bool) -> DeliveryStatus | None:
    """What a reminder's round comes to from its copies; None while any is unsettled."""
    if CopyStatus.SENT in statuses:
        return DeliveryStatus.RESENT if again else DeliveryStatus.SENT
    if any(status in UNSETTLED for status in statuses):
        return None
    if all(status == CopyStatus.UNREACHABLE for status in statuses):
        return DeliveryStatus.UNREACHABLE
    if CopyStatus.REFUSED in statuses:
        return DeliveryStatus.FAILED
    return DeliveryStatus.LATE_SKIPPED


def partners_to_tell(
    earlier: Mapping[int, str],
    reached: Collection[int],
    unreachable: Collection[int],
    *,
    again: bool,
) -> list[int]:
    """Partners to tell that the other could not be reached: once per reminder.

    `earlier` holds the round's copies settled before this attempt (partner -> status).
    They are told when the second of the two outcomes becomes known, whichever attempt
    that is; a snoozed reminder goes out without repeating it.
    """
    if again:
        return []
    outcome = dict(earlier)
    outcome.update({m: CopyStatus.SENT for m in reached})
    outcome.update({m: CopyStatus.UNREACHABLE for m in unreachable})
    got_it = [m for m, status in outcome.items() if status == CopyStatus.SENT]
    missed = [m for m, status in outcome.items() if status == CopyStatus.UNREACHABLE]
    now_known = set(reached) | set(unreachable)
    if got_it and missed and now_known & (set(got_it) | set(missed)):
        return got_it
    return []
