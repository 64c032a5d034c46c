"""safety note: when each user acknowledged it, so it comes before their first session only

Revision ID: 0008_safety
Revises: 0007_pair_settings
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_safety"
down_revision: str | None = "0007_pair_settings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null for everyone already known: they see the note at their next session, once.
    # Plain ALTER TABLE (no batch): on SQLite a batch copy drops the users table, and with
    # foreign keys on that drop would cascade through everything a user owns.
    op.add_column(
        "users", sa.Column("safety_acknowledged_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("users", "safety_acknowledged_at")
