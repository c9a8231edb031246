"""Digests may carry a small chart; the scheduler leaves a heartbeat that /healthz reports.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("chart", sa.JSON(), nullable=True))
    op.create_table(
        "heartbeats",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("heartbeats")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("chart")
