"""former partnerships: the history a partner keeps when the other asks to be forgotten

Revision ID: 0004_history
Revises: 0003_reminder_per_partner
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_history"
down_revision: str | None = "0003_reminder_per_partner"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "former_partnerships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_former_partnerships_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_former_partnerships")),
    )
    with op.batch_alter_table("former_partnerships", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_former_partnerships_owner_id"), ["owner_id"], unique=False
        )
    op.create_table(
        "former_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Integer(), nullable=False),
        sa.Column("routine_id", sa.String(length=64), nullable=False),
        sa.Column("end_reason", sa.String(length=16), nullable=False),
        sa.Column("holds_done", sa.Integer(), nullable=False),
        sa.Column("exercises_done", sa.Integer(), nullable=False),
        sa.Column("seconds_stretched", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["partnership_id"],
            ["former_partnerships.id"],
            name=op.f("fk_former_sessions_partnership_id_former_partnerships"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_former_sessions")),
    )
    with op.batch_alter_table("former_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_former_sessions_partnership_date", ["partnership_id", "local_date"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("former_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_former_sessions_partnership_date")
    op.drop_table("former_sessions")
    with op.batch_alter_table("former_partnerships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_former_partnerships_owner_id"))
    op.drop_table("former_partnerships")
