"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("first_name", sa.String(length=128), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("reachable", sa.Boolean(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_table(
        "invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("inviter_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by_id", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["inviter_id"],
            ["users.id"],
            name=op.f("fk_invites_inviter_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["used_by_id"],
            ["users.id"],
            name=op.f("fk_invites_used_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invites")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invites_token_hash")),
    )
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invites_inviter_id"), ["inviter_id"], unique=False)

    op.create_table(
        "pair_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("requester_id", sa.BigInteger(), nullable=False),
        sa.Column("partner_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["users.id"],
            name=op.f("fk_pair_requests_partner_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["users.id"],
            name=op.f("fk_pair_requests_requester_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pair_requests")),
    )
    with op.batch_alter_table("pair_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pair_requests_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_pair_requests_requester_id"), ["requester_id"], unique=False
        )

    op.create_table(
        "pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_low_id", sa.BigInteger(), nullable=False),
        sa.Column("user_high_id", sa.BigInteger(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("home_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("swap_mode", sa.String(length=16), nullable=False),
        sa.Column("reminders_paused_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders_skipped_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "user_low_id < user_high_id", name=op.f("ck_pairs_distinct_ordered_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_high_id"],
            ["users.id"],
            name=op.f("fk_pairs_user_high_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_low_id"],
            ["users.id"],
            name=op.f("fk_pairs_user_low_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pairs")),
        sa.UniqueConstraint("user_low_id", "user_high_id", name="uq_pairs_users"),
    )
    with op.batch_alter_table("pairs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pairs_user_high_id"), ["user_high_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pairs_user_low_id"), ["user_low_id"], unique=False)

    op.create_table(
        "reminder_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("local_time", sa.Time(), nullable=False),
        sa.Column("weekdays", sa.SmallInteger(), server_default=sa.text("127"), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pair_id"],
            ["pairs.id"],
            name=op.f("fk_reminder_slots_pair_id_pairs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_slots")),
        sa.UniqueConstraint("pair_id", "local_time", name="uq_reminder_slots_pair_time"),
    )
    with op.batch_alter_table("reminder_slots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reminder_slots_next_due_at"), ["next_due_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_reminder_slots_pair_id"), ["pair_id"], unique=False)

    op.create_table(
        "stretch_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("routine_id", sa.String(length=64), nullable=False),
        sa.Column("seat_a_id", sa.BigInteger(), nullable=False),
        sa.Column("seat_b_id", sa.BigInteger(), nullable=False),
        sa.Column("origin_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pair_id"],
            ["pairs.id"],
            name=op.f("fk_stretch_sessions_pair_id_pairs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stretch_sessions")),
    )
    with op.batch_alter_table("stretch_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stretch_sessions_live_deadline", ["live", "deadline"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_stretch_sessions_pair_id"), ["pair_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_stretch_sessions_seat_a_id"), ["seat_a_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_stretch_sessions_seat_b_id"), ["seat_b_id"], unique=False
        )
    op.create_table(
        "session_cards",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["stretch_sessions.id"],
            name=op.f("fk_session_cards_session_id_stretch_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "user_id", name=op.f("pk_session_cards")),
    )

    op.create_table(
        "reminder_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("snooze_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pair_id"],
            ["pairs.id"],
            name=op.f("fk_reminder_deliveries_pair_id_pairs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["reminder_slots.id"],
            name=op.f("fk_reminder_deliveries_slot_id_reminder_slots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_deliveries")),
        sa.UniqueConstraint("pair_id", "slot_id", "local_date", name="uq_reminder_deliveries_key"),
    )
    with op.batch_alter_table("reminder_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reminder_deliveries_slot_id"), ["slot_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reminder_deliveries_snooze_due_at"), ["snooze_due_at"], unique=False
        )
        batch_op.create_index(
            "ix_reminder_deliveries_status_claimed_at", ["status", "claimed_at"], unique=False
        )

    op.create_table(
        "session_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("routine_id", sa.String(length=64), nullable=False),
        sa.Column("end_reason", sa.String(length=16), nullable=False),
        sa.Column("holds_done", sa.Integer(), nullable=False),
        sa.Column("exercises_done", sa.Integer(), nullable=False),
        sa.Column("seconds_stretched", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pair_id"],
            ["pairs.id"],
            name=op.f("fk_session_results_pair_id_pairs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["stretch_sessions.id"],
            name=op.f("fk_session_results_session_id_stretch_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_results")),
        sa.UniqueConstraint("session_id", name=op.f("uq_session_results_session_id")),
    )
    with op.batch_alter_table("session_results", schema=None) as batch_op:
        batch_op.create_index(
            "ix_session_results_pair_date", ["pair_id", "local_date"], unique=False
        )

    op.create_table(
        "session_ratings",
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_session_ratings_rating_range")),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["session_results.id"],
            name=op.f("fk_session_ratings_result_id_session_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("result_id", "user_id", name=op.f("pk_session_ratings")),
    )


def downgrade() -> None:
    op.drop_table("session_ratings")
    with op.batch_alter_table("session_results", schema=None) as batch_op:
        batch_op.drop_index("ix_session_results_pair_date")

    op.drop_table("session_results")
    with op.batch_alter_table("reminder_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_reminder_deliveries_status_claimed_at")
        batch_op.drop_index(batch_op.f("ix_reminder_deliveries_snooze_due_at"))
        batch_op.drop_index(batch_op.f("ix_reminder_deliveries_slot_id"))

    op.drop_table("reminder_deliveries")
    op.drop_table("session_cards")
    with op.batch_alter_table("stretch_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stretch_sessions_seat_b_id"))
        batch_op.drop_index(batch_op.f("ix_stretch_sessions_seat_a_id"))
        batch_op.drop_index(batch_op.f("ix_stretch_sessions_pair_id"))
        batch_op.drop_index("ix_stretch_sessions_live_deadline")

    op.drop_table("stretch_sessions")
    with op.batch_alter_table("reminder_slots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_slots_pair_id"))
        batch_op.drop_index(batch_op.f("ix_reminder_slots_next_due_at"))

    op.drop_table("reminder_slots")
    with op.batch_alter_table("pairs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pairs_user_low_id"))
        batch_op.drop_index(batch_op.f("ix_pairs_user_high_id"))

    op.drop_table("pairs")
    with op.batch_alter_table("pair_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pair_requests_requester_id"))
        batch_op.drop_index(batch_op.f("ix_pair_requests_partner_id"))

    op.drop_table("pair_requests")
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invites_inviter_id"))

    op.drop_table("invites")
    op.drop_table("users")
