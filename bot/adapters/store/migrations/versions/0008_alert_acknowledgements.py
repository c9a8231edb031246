"""Who acknowledged a firing alert, and when (the digest's Acknowledge button): it stops repeats
until the alert escalates or resolves, and the Home tab shows it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.adapters.store.models import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert_states") as batch:
        batch.add_column(sa.Column("acknowledged_by", sa.String(32), nullable=True))
        batch.add_column(sa.Column("acknowledged_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_states") as batch:
        batch.drop_column("acknowledged_at")
        batch.drop_column("acknowledged_by")
