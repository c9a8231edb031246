"""A short answer cache: the same question asked twice within `ttl` seconds hits AWS once.

Questions asked at the same moment share one computation (the later askers wait for the first);
errors are not cached, so a fixed permission or a new cluster shows at once. `clear()` drops every
answer after a change the bot made itself (e.g. a log export turned on), including any being
computed at that moment, so no answer read before the change is served after it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")
MAX_ENTRIES = 1_000


class TtlCache(Generic[T]):
    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._entries: dict[Hashable, tuple[float, T]] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()
        self._generation = 0  # bumped by clear(): answers begun before it are not kept

    def clear(self) -> None:
        with self._guard:
            self._entries.clear()
            self._generation += 1

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        if self.ttl <= 0:
            return compute()
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one computation per key at a time: concurrent askers share it
            entry = self._entries.get(key)
            now = self.clock()
            if entry is not None and now - entry[0] < self.ttl:
                return entry[1]
            generation = self._generation
            value = compute()
            with self._guard:
                if generation != self._generation:
                    return value  # computed before a clear(): possibly stale, not kept
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries = {
                        k: e for k, e in self._entries.items() if now - e[0] < self.ttl
                    }
                    self._locks = {
                        k: v for k, v in self._locks.items() if k in self._entries or k == key
                    }
                self._entries[key] = (self.clock(), value)
            return value
