"""reminders delivered per partner

Revision ID: 0003_reminder_per_partner
Revises: 0002_outbox
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_reminder_per_partner"
down_revision: str | None = "0002_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reminder_recipients",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("again", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["reminder_deliveries.id"],
            name=op.f("fk_reminder_recipients_delivery_id_reminder_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "delivery_id", "user_id", "again", name=op.f("pk_reminder_recipients")
        ),
    )
    with op.batch_alter_table("reminder_recipients", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reminder_recipients_retry_at"), ["retry_at"], unique=False
        )
        batch_op.create_index(
            "ix_reminder_recipients_status_claimed_at", ["status", "claimed_at"], unique=False
        )
    # Reminders in flight when the bot was upgraded were tracked per pair: give each of
    # their partners a copy in flight, so the takeover finishes them as before.
    for member in ("user_low_id", "user_high_id"):
        op.execute(
            "INSERT INTO reminder_recipients "
            "(delivery_id, user_id, again, status, attempts, claimed_at) "
            f"SELECT d.id, p.{member}, d.status = 'resending', 'sending', 0, d.claimed_at "
            "FROM reminder_deliveries d JOIN pairs p ON p.id = d.pair_id "
            "WHERE d.status IN ('claimed', 'resending')"
        )


def downgrade() -> None:
    with op.batch_alter_table("reminder_recipients", schema=None) as batch_op:
        batch_op.drop_index("ix_reminder_recipients_status_claimed_at")
        batch_op.drop_index(batch_op.f("ix_reminder_recipients_retry_at"))
    op.drop_table("reminder_recipients")
