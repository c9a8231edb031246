"""Slots of a request budget: each call reserves the next free moment of its budget, at least
`spacing` seconds after the one before, and waits for it.

This is GCRA (the generic cell rate algorithm) with no burst: a budget's whole state is one time,
its next free moment, so a reservation is one atomic step. Here in one process's memory;
bot/adapters/store/rate_slots.py keeps the same state in PostgreSQL for every process at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Reservation:
    granted: bool
    # Granted: seconds to wait for the slot reserved. Refused: seconds until the budget's next
    # free moment (nothing was reserved).
    wait: float


class Slots(Protocol):
    def reserve(self, name: str, spacing: float, max_wait: float | None) -> Reservation:
        """Reserve budget `name`'s next free moment, unless it is more than `max_wait` seconds
        away (None: however far)."""
        ...


class LocalSlots:
    """The budgets of this process alone (SQLite deployments, or when PostgreSQL is down)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._next_free: dict[str, float] = {}
        self._lock = threading.Lock()

    def reserve(self, name: str, spacing: float, max_wait: float | None) -> Reservation:
        with self._lock:
            now = self._clock()
            slot = max(self._next_free.get(name, now), now)
            wait = slot - now
            if max_wait is not None and wait > max_wait:
                return Reservation(False, wait)
            self._next_free[name] = slot + spacing
            return Reservation(True, wait)
