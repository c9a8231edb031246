"""Silences may name `account/region/cluster`, as watches do: a longer cluster column.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("silences") as batch:
        batch.alter_column(
            "cluster", type_=sa.String(100), existing_type=sa.String(63), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("silences") as batch:
        batch.alter_column(
            "cluster", type_=sa.String(63), existing_type=sa.String(100), existing_nullable=False
        )
