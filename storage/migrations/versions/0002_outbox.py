"""owed cards: the sessions' outbox

Revision ID: 0002_outbox
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_outbox"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "owed_cards",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["stretch_sessions.id"],
            name=op.f("fk_owed_cards_session_id_stretch_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "user_id", name=op.f("pk_owed_cards")),
    )
    with op.batch_alter_table("owed_cards", schema=None) as batch_op:
        batch_op.create_index("ix_owed_cards_status", ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("owed_cards", schema=None) as batch_op:
        batch_op.drop_index("ix_owed_cards_status")
    op.drop_table("owed_cards")
