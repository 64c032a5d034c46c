"""pair settings (who is stretched first, default routine, weekly recap) and recap deliveries

A weekly recap is claimed and delivered as a reminder is: a delivery row, without a
slot, with a copy per partner. So `reminder_deliveries.slot_id` may now be NULL, and a
partial unique index keeps one recap per pair and Sunday.

Revision ID: 0009_settings_recap
Revises: 0007_pair_settings
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_settings_recap"
down_revision: str | None = "0008_safety"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RECAP_ONLY = sa.text("slot_id IS NULL")
_KEPT = "_keep_reminder_recipients"


def upgrade() -> None:
    # Plain ALTER TABLE, never batch mode: on SQLite batch mode may copy `pairs`, and
    # dropping the old copy would delete, by ON DELETE CASCADE, everything a pair owns.
    op.add_column(
        "pairs",
        sa.Column(
            "first_receiver", sa.String(length=16), server_default="starter", nullable=False
        ),
    )
    op.add_column("pairs", sa.Column("last_first_id", sa.BigInteger(), nullable=True))
    op.add_column("pairs", sa.Column("default_routine", sa.String(length=64), nullable=True))
    op.add_column(
        "pairs",
        sa.Column("weekly_recap", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    )
    op.add_column("pairs", sa.Column("recap_due_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_pairs_recap_due_at"), "pairs", ["recap_due_at"], unique=False)
    # Every pair's recap is due "now": the first claim finds that instant is not one of
    # the recap's own and only moves it to the pair's next Sunday (as a slot whose zone
    # changed), so nothing is sent at upgrade time.
    op.execute("UPDATE pairs SET recap_due_at = CURRENT_TIMESTAMP")
    _slot_may_be_null(True)
    # Not in batch mode: on SQLite that would copy the table again (see below).
    op.create_index(
        "uq_reminder_deliveries_recap",
        "reminder_deliveries",
        ["pair_id", "local_date"],
        unique=True,
        sqlite_where=_RECAP_ONLY,
        postgresql_where=_RECAP_ONLY,
    )


def downgrade() -> None:
    op.drop_index("uq_reminder_deliveries_recap", table_name="reminder_deliveries")
    op.execute("DELETE FROM reminder_deliveries WHERE slot_id IS NULL")
    _slot_may_be_null(False)
    op.drop_index(op.f("ix_pairs_recap_due_at"), table_name="pairs")
    for column in (
        "recap_due_at",
        "weekly_recap",
        "default_routine",
        "last_first_id",
        "first_receiver",
    ):
        op.drop_column("pairs", column)


def _slot_may_be_null(nullable: bool) -> None:
    """Change `reminder_deliveries.slot_id`'s NULL rule without losing any copy.

    SQLite changes a column by copying the table and dropping the old one; with foreign
    keys on, that drop deletes every copy row (ON DELETE CASCADE). So the copies are kept
    aside and put back. PostgreSQL alters the column in place.
    """
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute(f"CREATE TEMPORARY TABLE {_KEPT} AS SELECT * FROM reminder_recipients")
    with op.batch_alter_table("reminder_deliveries", schema=None) as batch_op:
        batch_op.alter_column("slot_id", existing_type=sa.Integer(), nullable=nullable)
    if sqlite:
        op.execute("DELETE FROM reminder_recipients")
        op.execute(f"INSERT INTO reminder_recipients SELECT * FROM {_KEPT}")
        op.execute(f"DROP TABLE {_KEPT}")
