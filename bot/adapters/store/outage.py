"""While the database cannot be reached: telling that apart from other storage errors, and holding
the audit entries it could not take until it can (bot/adapters/store/repo.py writes them first
thing)."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable
from typing import Generic, TypeVar

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# Entries of one process held at most; past it the oldest go (their log lines still tell them).
HELD_LIMIT = 1000
T = TypeVar("T")
log = logging.getLogger(__name__)


def unreachable(error: BaseException) -> bool:
    """Whether `error` says the database could not be reached (refused, dropped, timed out, no
    connection free in the pool), rather than that it refused what was asked of it."""
    if isinstance(error, OperationalError | InterfaceError | DisconnectionError | PoolTimeout):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


class Spool(Generic[T]):
    """What waits for the database, oldest first, bounded; safe to share between threads."""

    def __init__(self, limit: int = HELD_LIMIT) -> None:
        self.limit = limit
        self._items: deque[T] = deque()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def hold(self, item: T) -> None:
        with self._lock:
            self._items.append(item)
            self._trim()

    def take(self) -> list[T]:
        """Everything held, for one writer: another taking at the same time gets nothing."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
            return items

    def put_back(self, items: Iterable[T]) -> None:
        """Taken items that could not be written after all, before anything held since."""
        with self._lock:
            self._items.extendleft(reversed(list(items)))
            self._trim()

    def _trim(self) -> None:
        while len(self._items) > self.limit:
            log.warning("dropped, the database unreachable too long: %r", self._items.popleft())
