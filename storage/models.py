"""The database schema, as typed SQLAlchemy models.

Telegram ids are 64-bit. Every instant is stored in UTC; local times and dates only
make sense next to the pair's time zone, which is stored beside them.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}  # noqa: RUF012


class User(Base):
    """A Telegram account the bot has seen, in private (reachable) or only in a group."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(128))
    username: Mapped[str | None] = mapped_column(String(64))
    # True once the user opened a private chat; False again when they block the bot.
    reachable: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where the user said they live (/timezone or a shared location): a new pair's zone.
    timezone: Mapped[str | None] = mapped_column(String(64))
    # When the user tapped Got it under the safety note; until then their next session
    # shows it first. Kept per person, not per pair: a new partner changes nothing.
    safety_acknowledged_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Pair(Base):
    """Two users linked as partners; stored once, with the smaller id first."""

    __tablename__ = "pairs"
    __table_args__ = (
        UniqueConstraint("user_low_id", "user_high_id", name="uq_pairs_users"),
        CheckConstraint("user_low_id < user_high_id", name="distinct_ordered_users"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_low_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    user_high_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    home_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    swap_mode: Mapped[str] = mapped_column(String(16), default="per-exercise")
    reminders_paused_until: Mapped[datetime | None]
    # The pair's local date on which "Skip today" silences the remaining reminders.
    reminders_skipped_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]
    # /settings: who is stretched first (routines.pair_settings.FirstReceiver), and who
    # was in the last session, for taking turns.
    first_receiver: Mapped[str] = mapped_column(
        String(16), default="starter", server_default="starter"
    )
    last_first_id: Mapped[int | None] = mapped_column(BigInteger)
    # The routine a bare /stretch and a reminder's Start begin; None: the bot's default.
    default_routine: Mapped[str | None] = mapped_column(String(64))
    weekly_recap: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # When the weekly recap is due next, as a reminder slot's next instant is; None while
    # it is off. The claim moves it on, as it moves slots.
    recap_due_at: Mapped[datetime | None] = mapped_column(index=True)


class Invite(Base):
    """A single-use invite link; only a hash of its token is kept."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    inviter_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # The first person who opened the link; only they can answer it, and once
    # `used_at` is set, the person who did.
    used_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    # accepted / declined, once used.
    outcome: Mapped[str | None] = mapped_column(String(16))


class PairRequest(Base):
    """A /pair asked in a group, waiting for the named partner's tap."""

    __tablename__ = "pair_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    requester_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    partner_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))


class StretchSession(Base):
    """One run of a routine by a pair; `state` is the engine's snapshot."""

    __tablename__ = "stretch_sessions"
    __table_args__ = (Index("ix_stretch_sessions_live_deadline", "live", "deadline"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"), index=True)
    routine_id: Mapped[str] = mapped_column(String(64))
    seat_a_id: Mapped[int] = mapped_column(BigInteger, index=True)
    seat_b_id: Mapped[int] = mapped_column(BigInteger, index=True)
    origin_chat_id: Mapped[int] = mapped_column(BigInteger)
    phase: Mapped[str] = mapped_column(String(16))
    live: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped on every write: the compare-and-set token, finer than `version`.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    deadline: Mapped[datetime | None]
    options: Mapped[dict[str, Any]]
    state: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SessionCard(Base):
    """The message a session shows on one phone now: the one a countdown edits.

    Kept apart from the session row so that noting a message id never races with a
    state change over the same row's compare-and-set.
    """

    __tablename__ = "session_cards"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("stretch_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    # The session version the card was sent for, and what it shows (setup, hold...).
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    # Edits of the card in place, in the order of the session revisions they show: an
    # edit is claimed (`shows`, the revision it renders) before it is sent, and `landed`
    # says up to which revision the claimed edits reached Telegram. An edit claimed
    # while an older one is still on its way waits for it (bot/session_flow.py).
    shows: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    landed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SessionLeftover(Base):
    """A message a session showed on a phone that is no longer its current card.

    Each phone keeps only its current card: a card it replaced (or a note, or an alert)
    is written here in the transaction that notes the new card, and leaves once it was
    deleted (or, where Telegram keeps it, stripped to one line). A delete Telegram did
    not answer stays, and is tried again with the phone's next card or at start-up.
    """

    __tablename__ = "session_leftovers"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("stretch_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger)


class OwedCard(Base):
    """The card a session owes one phone for its newest version: the outbox.

    Written in the transaction that saves the session's new version, so a crash or a
    failed send can never lose it; a newer version's card replaces an older one, which
    is then never sent. `status` is owed until Telegram accepted the card (sent) or
    refused the person for good (unreachable).
    """

    __tablename__ = "owed_cards"
    __table_args__ = (Index("ix_owed_cards_status", "status"),)

    session_id: Mapped[int] = mapped_column(
        ForeignKey("stretch_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer)
    # What the card shows: the session's phase at that version (lobby, setup, holding...).
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    owed_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]


class SessionTimerRow(Base):
    """A session's due instant, one row a lane: its step timer (hold, switch or idle
    limit), its next countdown tick, or its owed cards' next try.

    Written in the transaction that saves the state that armed it, so any worker finds it.
    `available_at` is when a worker may claim it: `due_at`, or, while a worker holds it,
    the end of that worker's lease (a worker that dies holding it does not strand it).
    """

    __tablename__ = "session_timers"
    __table_args__ = (Index("ix_session_timers_available_at", "available_at"),)

    session_id: Mapped[int] = mapped_column(
        ForeignKey("stretch_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    lane: Mapped[str] = mapped_column(String(8), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime]
    available_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    # The countdown ticks after this one (ISO instants), all chosen when the hold began.
    later: Mapped[list[str]] = mapped_column(JSON)


class SessionResult(Base):
    """How a finished session went, for history and streaks."""

    __tablename__ = "session_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("stretch_sessions.id", ondelete="CASCADE"), unique=True
    )
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"))
    routine_id: Mapped[str] = mapped_column(String(64))
    end_reason: Mapped[str] = mapped_column(String(16))
    holds_done: Mapped[int] = mapped_column(Integer)
    exercises_done: Mapped[int] = mapped_column(Integer)
    seconds_stretched: Mapped[int] = mapped_column(Integer)
    # The pair's local date when it ended: streaks and "already stretched today".
    local_date: Mapped[date] = mapped_column(Date)
    ended_at: Mapped[datetime]

    __table_args__ = (Index("ix_session_results_pair_date", "pair_id", "local_date"),)


class SessionRating(Base):
    """One partner's answer to "How does your back feel?" (1-5)."""

    __tablename__ = "session_ratings"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),)

    result_id: Mapped[int] = mapped_column(
        ForeignKey("session_results.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    rating: Mapped[int] = mapped_column(SmallInteger)
    rated_at: Mapped[datetime]


class ReminderSlot(Base):
    """A local time and a set of weekdays in the pair's zone, with its next UTC instant."""

    __tablename__ = "reminder_slots"
    __table_args__ = (
        UniqueConstraint("pair_id", "local_time", name="uq_reminder_slots_pair_time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"), index=True)
    local_time: Mapped[time] = mapped_column(Time)
    # Monday is bit 0 ... Sunday bit 6.
    weekdays: Mapped[int] = mapped_column(SmallInteger, server_default=text("127"))
    next_due_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime]


class ReminderDelivery(Base):
    """One reminder for one slot on one local date: the row that makes it exactly once."""

    __tablename__ = "reminder_deliveries"
    __table_args__ = (
        UniqueConstraint("pair_id", "slot_id", "local_date", name="uq_reminder_deliveries_key"),
        # A weekly recap is a delivery without a slot, once per pair and Sunday (NULL slot
        # ids never collide in the key above, so it needs one of its own).
        Index(
            "uq_reminder_deliveries_recap",
            "pair_id",
            "local_date",
            unique=True,
            sqlite_where=text("slot_id IS NULL"),
            postgresql_where=text("slot_id IS NULL"),
        ),
        # Status first: the snoozes still waiting are found without scanning history.
        Index("ix_reminder_deliveries_status_claimed_at", "status", "claimed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"))
    # None for a weekly recap, which belongs to no slot.
    slot_id: Mapped[int | None] = mapped_column(
        ForeignKey("reminder_slots.id", ondelete="CASCADE"), index=True
    )
    local_date: Mapped[date] = mapped_column(Date)
    due_at: Mapped[datetime]
    claimed_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # sent / skipped / late-skipped / unreachable / snoozed
    status: Mapped[str] = mapped_column(String(16), default="claimed")
    snooze_due_at: Mapped[datetime | None] = mapped_column(index=True)
    note: Mapped[str | None] = mapped_column(Text)


class FormerPartnership(Base):
    """What a partner keeps of a pair whose other member asked to be forgotten.

    Nothing here names the forgotten person: they are "a former partner".
    """

    __tablename__ = "former_partnerships"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    timezone: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    # When the owner was told that the pair ended; NULL until Telegram accepted it.
    told_at: Mapped[datetime | None]


class FormerSession(Base):
    """One session of a former partnership, with the owner's own rating."""

    __tablename__ = "former_sessions"
    __table_args__ = (
        Index("ix_former_sessions_partnership_date", "partnership_id", "local_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partnership_id: Mapped[int] = mapped_column(
        ForeignKey("former_partnerships.id", ondelete="CASCADE")
    )
    routine_id: Mapped[str] = mapped_column(String(64))
    end_reason: Mapped[str] = mapped_column(String(16))
    holds_done: Mapped[int] = mapped_column(Integer)
    exercises_done: Mapped[int] = mapped_column(Integer)
    seconds_stretched: Mapped[int] = mapped_column(Integer)
    local_date: Mapped[date] = mapped_column(Date)
    ended_at: Mapped[datetime]
    rating: Mapped[int | None] = mapped_column(SmallInteger)


class ReminderRecipient(Base):
    """One partner's copy of a reminder: claimed, sent, retried and marked on its own.

    A reminder that reached one phone and failed on the other is retried for the other
    alone. `again` is the snoozed reminder sent a second time, a round of its own.
    """

    __tablename__ = "reminder_recipients"
    __table_args__ = (
        # Finds copies left in flight by a stopped process without scanning history.
        Index("ix_reminder_recipients_status_claimed_at", "status", "claimed_at"),
    )

    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("reminder_deliveries.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    again: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    # sending / waiting / sent / unreachable / late / refused / superseded
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    claimed_at: Mapped[datetime]
    # When a copy whose send failed is tried again; set only while it waits.
    retry_at: Mapped[datetime | None] = mapped_column(index=True)
    sent_at: Mapped[datetime | None]
    # The message Telegram made of this copy, so a snooze or skip by either partner can
    # edit both phones' reminders; NULL until it was sent.
    message_id: Mapped[int | None] = mapped_column(BigInteger)
