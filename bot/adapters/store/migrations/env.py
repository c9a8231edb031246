"""Alembic environment: runs on the connection iamauth hands it (see bot/adapters/store/db.py).

The whole upgrade is one transaction, on SQLite too (db.py sends BEGIN before DDL). Hence, in a
migration: no `autocommit_block()`, and no PRAGMA that SQLite ignores or refuses inside a
transaction (`foreign_keys`, `journal_mode`); batch mode's table copies need neither.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.adapters.store.db import transactional_engine
from bot.adapters.store.models import Base

# Serialises migrations when several processes start at once on one PostgreSQL database.
MIGRATION_LOCK = 0x1A4A_0001


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        transactional_ddl=True,  # one transaction for every step, not one per step
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # the `alembic` command line
    engine = transactional_engine(context.config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.connect() as conn:
        _run(conn)
