"""One poster at a time.

The leader is whoever holds the lease (Lease, a row in the database, on every database): renewed
by every tick and every post, taken over by a standby once it expires, and checked with its epoch
in each statement that acts as the leader, so a process that lost it writes and posts nothing
more. PostgreSQL: any number of standbys run beside the leader.
SQLite: an exclusive lock on a file beside the database; a second process is refused at start,
since SQLite offers nothing that would let two schedulers take turns safely.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.adapters.store.db import sqlite_file
from bot.adapters.store.fence import Fence
from bot.adapters.store.repair import UnusableDatabase
from bot.adapters.store.repo import Store

DIGEST_LEASE = "digest-scheduler"
log = logging.getLogger(__name__)


class LeaderLock(Protocol):
    def acquire(self) -> bool:
        """True while this process is (or just became) the leader."""

    def release(self) -> None: ...


class AlreadyRunning(Exception):
    """Another scheduler holds the lock and this database cannot share it."""


class PostgresLeaderLock:
    """PostgreSQL keeps no scheduler out: standbys run beside the leader, and the lease decides
    who leads. A lock could not: a frozen leader keeps it (its connection lives on), and a leader
    whose connection dropped posts on without it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


class Lease:
    """This process's claim to lead the digest scheduler: the `leases` row `name`, held for `ttl`
    past each renewal (bot/adapters/store/fence.py). `at_once`: the caller knows no other holder can
    be alive (SQLite, under the file lock), so a lease left by a dead process is taken at once."""

    def __init__(
        self,
        store: Store,
        *,
        ttl: timedelta,
        clock: Callable[[], datetime],
        name: str = DIGEST_LEASE,
        at_once: bool = False,
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.clock = clock
        self.name = name
        self.at_once = at_once
        self.holder = f"{socket.gethostname()[:60]} pid {os.getpid()} {uuid.uuid4().hex[:8]}"
        self._epoch: int | None = None

    def acquire(self) -> Fence | None:
        """The fence to lead under this tick (the lease taken or renewed), or None: standby."""
        try:
            epoch = self.store.take_lease(
                self.name, self.holder, self.clock(), self.ttl, at_once=self.at_once
            )
        except SQLAlchemyError:
            log.warning("cannot reach the database to renew the lease; standing by", exc_info=True)
            epoch = None
        if epoch is not None and epoch != self._epoch:
            log.info("this process is now the leader (lease epoch %d)", epoch)
        elif epoch is None and self._epoch is not None:
            log.warning("this process leads no more (lease epoch %d ended)", self._epoch)
        self._epoch = epoch
        return None if epoch is None else Fence(self.name, self.holder, epoch, self.ttl)

    def lost(self) -> None:
        """A fenced write found the lease taken over: lead no more until acquired again."""
        if self._epoch is not None:
            log.warning("another process took over the lease (epoch %d ended)", self._epoch)
        self._epoch = None

    def release(self) -> None:
        """Gives the lease back (at exit), so a standby takes over at its next tick."""
        if self._epoch is None:
            return
        try:
            self.store.release_lease(self.name, self.holder, self.clock())
        except SQLAlchemyError:
            log.warning("could not give the lease back; it expires by itself", exc_info=True)
        self._epoch = None


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
    database = sqlite_file(engine)  # the real file: every path to it finds the same lock
    if database is None:
        return FileLeaderLock(Path(os.environ.get("TMPDIR", "/tmp")) / "iamauth-memory.lock")  # noqa: S108
    return FileLeaderLock(Path(database + ".lock"))


def claim_or_refuse(lock: LeaderLock, engine: Engine) -> None:
    """SQLite cannot share: a second scheduler stops at start with a clear message, whichever
    path it was given. Hard links are names no path resolves to one another: refused."""
    if engine.dialect.name == "postgresql":
        return
    database = sqlite_file(engine)
    if database is not None and (links := _hard_links(database)) > 1:
        raise UnusableDatabase(
            f"{database} has {links} names (hard links). SQLite keeps a database's journal beside "
            "the name it was opened by, so processes using different names can corrupt it, and a "
            "scheduler started by another name would not see this one's lock. Keep one name (a "
            "symbolic link is fine) and remove the others."
        )
    if not lock.acquire():
        raise AlreadyRunning(
            f"Another iamauth scheduler already runs on {database or engine.url.database}. SQLite "
            "allows one; stop the other, or set DATABASE_URL to PostgreSQL to run a standby."
        )


def _hard_links(path: str) -> int:
    try:
        return os.stat(path).st_nlink
    except FileNotFoundError:
        return 1
