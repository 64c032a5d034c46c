"""card edit claims: the revisions an edit of each phone's card was claimed for and landed

Revision ID: 0012_calm
Revises: 0011_calm_cards
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_calm"
down_revision: str | None = "0011_calm_cards"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for column in ("shows", "landed"):
        op.add_column(
            "session_cards", sa.Column(column, sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    for column in ("landed", "shows"):
        op.drop_column("session_cards", column)
