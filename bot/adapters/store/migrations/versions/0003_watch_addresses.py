"""Watches may name `account/region/cluster`: a longer cluster column.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("watches") as batch:
        batch.alter_column(
            "cluster", type_=sa.String(100), existing_type=sa.String(63), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("watches") as batch:
        batch.alter_column(
            "cluster", type_=sa.String(63), existing_type=sa.String(100), existing_nullable=False
        )
