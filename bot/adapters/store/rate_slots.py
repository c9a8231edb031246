"""Request budgets shared by every process of a deployment, in PostgreSQL (table `rate_slots`).

Each reservation is one UPDATE of the budget's row, so PostgreSQL's row lock orders the processes,
and every time in it is PostgreSQL's own clock (clock_timestamp()): a process only learns how long
to wait, so the processes' clocks may disagree. pyrate-limiter's PostgresBucket was not used: it
refuses (rather than queues) a caller whenever another holds its table lock, needs a leak pass,
and keeps one row per call. If PostgreSQL cannot be reached, this process counts on its own
(LocalSlots) until it can again: the answer matters more than the shared count.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from bot.ops.rate_slots import LocalSlots, Reservation, Slots

log = logging.getLogger(__name__)

# A wait without a deadline: "however long" for SQL.
_NO_LIMIT_SECONDS = 10.0**9
_ENSURE = text(
    "INSERT INTO rate_slots (name, next_free) VALUES (:name, clock_timestamp()) "
    "ON CONFLICT (name) DO NOTHING"
)
# clock_timestamp(), not now(): read when the row is updated, after any wait for its lock, so the
# slot and the wait are measured from the moment of the reservation, not from before a queue at the
# row (a waiter would otherwise sleep its lock wait too long and go late, crowding the next slot).
_RESERVE = text(
    """
    WITH taken AS (
        UPDATE rate_slots AS s
        SET next_free = GREATEST(s.next_free, clock_timestamp())
            + make_interval(secs => CAST(:spacing AS double precision))
        WHERE s.name = :name
          AND GREATEST(s.next_free, clock_timestamp())
              <= clock_timestamp() + make_interval(secs => CAST(:max_wait AS double precision))
        RETURNING CAST(EXTRACT(EPOCH FROM s.next_free - clock_timestamp()) AS double precision)
            - CAST(:spacing AS double precision) AS wait
    )
    SELECT (SELECT wait FROM taken) AS granted,
           (SELECT CAST(EXTRACT(EPOCH FROM GREATEST(s.next_free, clock_timestamp())
                                - clock_timestamp()) AS double precision)
            FROM rate_slots AS s WHERE s.name = :name) AS backlog
    """
)
# Between two warnings that PostgreSQL is unreachable.
_WARN_EVERY_SECONDS = 60.0


class PostgresSlots:
    def __init__(self, engine: Engine, fallback: Slots | None = None) -> None:
        self.engine = engine
        self._fallback = fallback or LocalSlots()
        self._warned_at = -_WARN_EVERY_SECONDS

    def reserve(self, name: str, spacing: float, max_wait: float | None) -> Reservation:
        limit = _NO_LIMIT_SECONDS if max_wait is None else max(max_wait, 0.0)
        try:
            with self.engine.begin() as connection:
                connection.execute(_ENSURE, {"name": name})
                granted, backlog = connection.execute(
                    _RESERVE, {"name": name, "spacing": spacing, "max_wait": limit}
                ).one()
        except SQLAlchemyError as error:
            self._warn(error)
            return self._fallback.reserve(name, spacing, max_wait)
        if granted is not None:
            return Reservation(True, max(float(granted), 0.0))
        return Reservation(False, float(backlog or 0.0))

    def _warn(self, error: SQLAlchemyError) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning(
                "the shared AWS request budget is unavailable (%s); this process counts alone",
                type(error).__name__,
            )
