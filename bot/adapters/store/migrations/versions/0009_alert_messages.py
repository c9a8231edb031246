"""One Slack message per alert episode, edited in place: `alert_messages` holds each message's
clusters as last shown (to edit one part and keep the others) and its ts once posted; an alert
state names the message announcing its episode; an outbox row says what it does to its message
(post it, edit it, reply in its thread); and an alert state keeps when its latest episode began
after it ends (the Home tab's "last fired").

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.adapters.store.models import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_messages",
        sa.Column("key", sa.String(32), primary_key=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("ts", sa.String(32), nullable=True),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("evaluated_to", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    with op.batch_alter_table("alert_states") as batch:
        batch.add_column(sa.Column("message_key", sa.String(32), nullable=True))
        batch.add_column(sa.Column("last_fired_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("kind", sa.String(8), nullable=False, server_default="post"))
        batch.add_column(sa.Column("message_key", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("message_key")
        batch.drop_column("kind")
    with op.batch_alter_table("alert_states") as batch:
        batch.drop_column("last_fired_at")
        batch.drop_column("message_key")
    op.drop_table("alert_messages")
