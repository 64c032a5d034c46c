"""session leftovers: messages a phone no longer shows as its card, to delete

Revision ID: 0011_calm_cards
Revises: 0010_durable_timers
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_calm_cards"
down_revision: str | None = "0010_durable_timers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_leftovers",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["stretch_sessions.id"],
            name=op.f("fk_session_leftovers_session_id_stretch_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "session_id", "chat_id", "message_id", name=op.f("pk_session_leftovers")
        ),
    )


def downgrade() -> None:
    op.drop_table("session_leftovers")
