"""What the repositories hand back: plain frozen dataclasses, never ORM rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    first_name: str
    username: str | None
    reachable: bool
    timezone: str | None = None
    safety_acknowledged_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PairRecord:
    id: int
    user_low_id: int
    user_high_id: int
    timezone: str
    home_chat_id: int | None
    swap_mode: str
    reminders_paused_until: datetime | None
    reminders_skipped_on: date | None
    created_at: datetime
    # /settings (see routines.pair_settings): stored values, defaults for a new pair.
    first_receiver: str = "starter"
    last_first_id: int | None = None
    default_routine: str | None = None
    weekly_recap: bool = True
    recap_due_at: datetime | None = None

    @property
    def members(self) -> tuple[int, int]:
        return (self.user_low_id, self.user_high_id)

    def partner_of(self, user_id: int) -> int:
        """The other member; the caller has checked that `user_id` is one of them."""
        if user_id == self.user_low_id:
            return self.user_high_id
        if user_id == self.user_high_id:
            return self.user_low_id
        raise ValueError(f"user {user_id} is not in pair {self.id}")

    def has_member(self, user_id: int) -> bool:
        return user_id in (self.user_low_id, self.user_high_id)


@dataclass(frozen=True, slots=True)
class InviteRecord:
    """An invite link as stored: the token itself is never kept, only its hash."""

    id: int
    inviter_id: int
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    # Who opened it first (the only one who may answer it); who used it, once used.
    used_by_id: int | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class PairRequestRecord:
    """A /pair asked in a group, waiting for the named partner's answer."""

    id: int
    chat_id: int
    requester_id: int
    partner_id: int
    created_at: datetime
    resolved_at: datetime | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A stretch session as stored: the engine's snapshot and what is indexed of it."""

    id: int
    pair_id: int
    routine_id: str
    seats: tuple[int, int]
    origin_chat_id: int
    phase: str
    live: bool
    version: int
    revision: int
    deadline: datetime | None
    options: dict[str, Any]
    state: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SessionChange:
    """What a transition writes back; `revision` is the one it read."""

    phase: str
    live: bool
    version: int
    deadline: datetime | None
    state: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CardRecord:
    """The message a session shows on one phone now."""

    user_id: int
    chat_id: int
    message_id: int
    version: int
    kind: str
    # The newest session revision an edit of this card was claimed for, and the newest
    # whose claimed edit reached Telegram (0: none yet).
    shows: int = 0
    landed: int = 0


@dataclass(frozen=True, slots=True)
class LeftoverRecord:
    """A message of a session that is no longer a phone's current card: to delete."""

    session_id: int
    user_id: int
    chat_id: int
    message_id: int


@dataclass(frozen=True, slots=True)
class ResultRow:
    """How a finished session went, as the step that ends it writes it."""

    pair_id: int
    routine_id: str
    end_reason: str
    holds_done: int
    exercises_done: int
    seconds_stretched: int
    local_date: date
    ended_at: datetime


@dataclass(frozen=True, slots=True)
class ResultRecord(ResultRow):
    """How a finished session went, kept for history, streaks and ratings."""

    id: int
    session_id: int


@dataclass(frozen=True, slots=True)
class ReminderSlotRecord:
    """A pair's daily reminder: a local time, weekdays (Monday is bit 0), its next instant."""

    id: int
    pair_id: int
    local_time: time
    weekdays: int
    next_due_at: datetime


@dataclass(frozen=True, slots=True)
class ReminderDeliveryRecord:
    """One reminder of one slot on one local date, and how far it got."""

    id: int
    pair_id: int
    slot_id: int | None  # None: a weekly recap, which belongs to no slot
    local_date: date
    due_at: datetime
    claimed_at: datetime
    sent_at: datetime | None
    status: str
    snooze_due_at: datetime | None
    note: str | None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One session as /history and /export show it, with each rating by user id."""

    local_date: date
    routine_id: str
    end_reason: str
    holds_done: int
    exercises_done: int
    seconds_stretched: int
    ended_at: datetime
    ratings: dict[int, int]


@dataclass(frozen=True, slots=True)
class FormerPartnershipRecord:
    """A pair kept by `owner_id` after the other partner asked to be forgotten."""

    id: int
    owner_id: int
    timezone: str
    started_at: datetime
    ended_at: datetime
    told_at: datetime | None


@dataclass(frozen=True, slots=True)
class OwedCardRecord:
    """A card a session owes one phone: the card of `version`, showing `kind`."""

    session_id: int
    user_id: int
    version: int
    kind: str


@dataclass(frozen=True, slots=True)
class ReminderRecipientRecord:
    """One partner's copy of a reminder (first send, or `again` after a snooze)."""

    delivery_id: int
    user_id: int
    again: bool
    status: str
    attempts: int
    claimed_at: datetime
    retry_at: datetime | None
    # The message the copy became on the partner's phone, once sent.
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class TimerRecord:
    """A session's due instant in one lane (step, tick or cards); see SessionTimerRow.

    `available_at` is None when written: the row is free from `due_at` on.
    """

    session_id: int
    lane: str
    kind: str
    version: int
    due_at: datetime
    later: tuple[datetime, ...] = ()
    attempt: int = 0
    available_at: datetime | None = None
    claimed_by: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryNote:
    """What Telegram did with the cards of a session's `version`, to write down (see
    `SessionSteps.delivered`)."""

    version: int
    shown: Sequence[CardRecord]
    unreachable: Sequence[int]
    retry: TimerRecord | None
    cards_lane: str
    now: datetime
