"""Exactly-once delivery under faults: outbox rows are claimed before each attempt, retried at a
time of their own, remember whether an attempt may have been posted; the scheduler's leader holds
a lease with an epoch (fencing token).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.adapters.store.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OUTBOX_COLUMNS = ("claim_epoch", "claimed_at", "claimed_until", "retry_at", "unsure_since")


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claim_epoch", sa.Integer(), nullable=True))
        for name in OUTBOX_COLUMNS[1:]:
            batch.add_column(sa.Column(name, UTCDateTime(), nullable=True))
    # A pending row tried before this version may have been posted by a process that died: the
    # history is searched before it is posted again, as before.
    op.execute(
        "UPDATE outbox SET unsure_since = created_at WHERE status = 'pending' AND attempts > 0"
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("holder", sa.String(100), nullable=True),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("leases")
    with op.batch_alter_table("outbox") as batch:
        for name in reversed(OUTBOX_COLUMNS):
            batch.drop_column(name)
