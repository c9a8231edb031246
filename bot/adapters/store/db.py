"""Engines and migrations. SQLite (a file) by default; PostgreSQL with DATABASE_URL."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from bot.adapters.store.repair import undo_cut_off_step

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
        return _sqlite_engine(url)
    # A database host that drops packets must not hang /healthz (or a tick) until TCP gives up;
    # a URL's own `connect_timeout` wins.
    return create_engine(url, pool_pre_ping=True, connect_args=_pg_timeout(url))


def _sqlite_engine(url: str | URL, *, transactional_ddl: bool = False) -> Engine:
    connect_args: dict[str, Any] = {"timeout": 30, "check_same_thread": False}
    if transactional_ddl:
        # pysqlite's legacy transaction handling sends BEGIN only before INSERT/UPDATE/DELETE, so
        # every CREATE/ALTER/DROP before them commits on its own. SQLAlchemy's documented recipe:
        # the driver sends no BEGIN at all, the "begin" event below sends it; SQLite's DDL is
        # transactional, so the whole upgrade (batch table copies included) commits or not at all.
        connect_args["isolation_level"] = None
    engine = create_engine(
        url, connect_args=connect_args, **({"poolclass": NullPool} if transactional_ddl else {})
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Before any BEGIN: SQLite cannot change journal_mode inside a transaction.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    if transactional_ddl:

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            # IMMEDIATE: the write lock from the start, so reading alembic_version and writing the
            # schema cannot be split by another process's write.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def transactional_engine(url: str) -> Engine:
    """An engine whose transactions hold DDL too, for migrations (SQLite: see _sqlite_engine)."""
    url = normalise_url(url)
    return (
        _sqlite_engine(url, transactional_ddl=True)
        if url.startswith("sqlite")
        else make_engine(url)
    )


def _pg_timeout(url: str) -> dict[str, Any]:
    return {} if "connect_timeout=" in url else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}


def sqlite_file(engine: Engine) -> str | None:
    """The real path of a SQLite database file (symbolic links and relative paths resolved, so
    every name of one file gives one answer); None for PostgreSQL and in-memory SQLite."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return os.path.realpath(database)


@contextlib.contextmanager
def _file_lock(path: str) -> Iterator[None]:
    with Path(path).open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield


def migrate(engine: Engine, scripts: Path = MIGRATIONS) -> None:
    """Bring the schema to the newest revision in one transaction: all of the upgrade or none of
    it, wherever the process stops. Safe from several processes at once: PostgreSQL serialises
    them with an advisory lock in env.py, SQLite with a file lock here (and BEGIN IMMEDIATE).
    A SQLite file an older iamauth left half-migrated is repaired first
    (bot/adapters/store/repair.py)."""
    config = Config()
    config.set_main_option("script_location", str(scripts))
    database = sqlite_file(engine)
    with contextlib.ExitStack() as stack:
        if database is not None:
            stack.enter_context(_file_lock(database + ".migrate.lock"))
            engine = _sqlite_engine(engine.url, transactional_ddl=True)
            stack.callback(engine.dispose)
        connection = stack.enter_context(engine.begin())
        if database is not None:
            undo_cut_off_step(connection, config, database)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
