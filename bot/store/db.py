"""Engines and migrations. SQLite (a file) by default; PostgreSQL with DATABASE_URL."""

from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event

MIGRATIONS = Path(__file__).with_name("migrations")


def normalise_url(url: str) -> str:
    """Accept the URLs platforms hand out (`postgres://`, `postgresql://`) with the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


CONNECT_TIMEOUT_SECONDS = 5


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # A database host that drops packets must not hang /healthz (or a tick) until TCP gives up;
    # a URL's own `connect_timeout` wins.
    return create_engine(url, pool_pre_ping=True, connect_args=_pg_timeout(url))


def _pg_timeout(url: str) -> dict[str, Any]:
    return {} if "connect_timeout=" in url else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (safe to run from several processes at once:
    PostgreSQL serialises them with an advisory lock in env.py, SQLite with a file lock here)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    database = engine.url.database
    with contextlib.ExitStack() as stack:
        if engine.dialect.name == "sqlite" and database and database != ":memory:":
            handle = stack.enter_context(Path(database + ".migrate.lock").open("a"))
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        connection = stack.enter_context(engine.begin())
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
