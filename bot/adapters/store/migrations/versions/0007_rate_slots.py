"""One request budget per (account, region) and API family, shared by every process of a
deployment: the next free moment of each.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.adapters.store.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_slots",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("next_free", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rate_slots")
