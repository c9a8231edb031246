"""One poster at a time.

PostgreSQL: a session-level advisory lock held on a dedicated connection. If the leader dies its
connection closes, PostgreSQL drops the lock, and a standby takes it at its next tick.
SQLite: an exclusive lock on a file beside the database; a second process is refused at start,
since SQLite offers nothing that would let two schedulers take turns safely.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

LEADER_LOCK_KEY = 0x1A4A_0002
log = logging.getLogger(__name__)


class LeaderLock(Protocol):
    def acquire(self) -> bool:
        """True while this process is (or just became) the leader."""

    def release(self) -> None: ...


class AlreadyRunning(Exception):
    """Another scheduler holds the lock and this database cannot share it."""


class PostgresLeaderLock:
    def __init__(self, engine: Engine, key: int = LEADER_LOCK_KEY) -> None:
        self.engine = engine
        self.key = key
        self._connection: Connection | None = None
        self._held = False

    def acquire(self) -> bool:
        try:
            if self._connection is None or self._connection.closed:
                self._connection = self.engine.connect()
                self._held = False
            if self._held:
                # Still ours only while the connection lives.
                self._connection.execute(text("SELECT 1"))
                self._connection.commit()
                return True
            got = self._connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            ).scalar()
            self._connection.commit()
            self._held = bool(got)
            if self._held:
                log.info("this process is now the leader")
            return self._held
        except DBAPIError:
            log.warning("lost the database connection; leadership dropped", exc_info=True)
            self._drop()
            return False

    def release(self) -> None:
        if self._connection is not None and self._held:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                self._connection.commit()
            except DBAPIError:
                pass
        self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(DBAPIError):
                self._connection.close()
        self._connection = None
        self._held = False


class FileLeaderLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(self) -> bool:
        if self._handle is not None:
            return True
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle
        return True

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def leader_lock_for(engine: Engine) -> LeaderLock:
    if engine.dialect.name == "postgresql":
        return PostgresLeaderLock(engine)
    database = engine.url.database
    if not database or database == ":memory:":
        return FileLeaderLock(Path(os.environ.get("TMPDIR", "/tmp")) / "iamauth-memory.lock")  # noqa: S108
    return FileLeaderLock(Path(database + ".lock"))


def claim_or_refuse(lock: LeaderLock, engine: Engine) -> None:
    """SQLite cannot share: a second scheduler stops at start with a clear message."""
    if engine.dialect.name == "postgresql":
        return
    if not lock.acquire():
        raise AlreadyRunning(
            f"Another iamauth scheduler already runs on {engine.url.database}. SQLite allows one; "
            "stop the other, or set DATABASE_URL to PostgreSQL to run a standby."
        )
