"""durable timers: every session's due instants in the database, claimed by any worker

Live sessions keep their step timer: their deadline, version and phase say it.

Revision ID: 0010_durable_timers
Revises: 0007_pair_settings
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_durable_timers"
down_revision: str | None = "0009_settings_recap"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_timers",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("lane", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("later", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["stretch_sessions.id"],
            name=op.f("fk_session_timers_session_id_stretch_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "lane", name=op.f("pk_session_timers")),
    )
    with op.batch_alter_table("session_timers", schema=None) as batch_op:
        batch_op.create_index("ix_session_timers_available_at", ["available_at"], unique=False)
    # A running hold or switch ends by its deadline; a lobby, setup or pause by its idle
    # limit. Countdown ticks are not carried over: a hold running across the upgrade
    # shows its card until it ends.
    op.execute(
        """
        INSERT INTO session_timers
            (session_id, lane, kind, version, due_at, available_at, claimed_by, attempt, later)
        SELECT id, 'step',
               CASE WHEN phase IN ('holding', 'switching') THEN 'hold' ELSE 'idle' END,
               version, deadline, deadline, NULL, 0, '[]'
        FROM stretch_sessions
        WHERE live AND deadline IS NOT NULL
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("session_timers", schema=None) as batch_op:
        batch_op.drop_index("ix_session_timers_available_at")
    op.drop_table("session_timers")
