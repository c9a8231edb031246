"""Watches, alert states, silences and the digest outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.adapters.store.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watches",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("cluster", sa.String(63), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("repeat_seconds", sa.Integer(), nullable=False),
        sa.Column("send_resolved", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("cluster", "channel", name="uq_watch_cluster_channel"),
    )
    op.create_table(
        "alert_states",
        sa.Column("watch_key", sa.String(200), primary_key=True),
        sa.Column("family", sa.String(40), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=True),
        sa.Column("notified_at", UTCDateTime(), nullable=True),
        sa.Column("notified_count", sa.Integer(), nullable=False),
        sa.Column("peak", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "silences",
        sa.Column("cluster", sa.String(63), primary_key=True),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_by", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(32), nullable=False, unique=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("blocks", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("ts", sa.String(32), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ix_outbox_status", "outbox", ["status"])


def downgrade() -> None:
    op.drop_index("ix_outbox_status", table_name="outbox")
    for table in ("outbox", "silences", "alert_states", "watches"):
        op.drop_table(table)
