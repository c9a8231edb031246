"""A budget per person for the commands that read AWS (failures, metrics, clusters, logs, the
Show failures button): the account's AWS API quotas are shared by everyone, so one person's
burst must not use them up for the rest, or for the digests.

Counted with pyrate-limiter: a sliding window per Slack user, in this process's memory (each
gunicorn worker counts its own). The buckets come from one factory, so a budget shared by the
processes is a change of bucket (pyrate-limiter's SQLite or PostgreSQL buckets), not of callers.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from pyrate_limiter import (
    AbstractBucket,
    BucketFactory,
    InMemoryBucket,
    Limiter,
    MonotonicClock,
    Rate,
    RateItem,
)

from bot.domain.user_rate import UserRate

# The wait is only rounded for people; never tell anyone to come back in 0 seconds.
MIN_WAIT = timedelta(seconds=1)


class PerUserBuckets(BucketFactory):
    """One sliding-window bucket per name (a Slack user id), made on first use. Entries older
    than the window are dropped on each use, so no leaking thread is needed."""

    def __init__(self, rates: list[Rate]) -> None:
        self.rates = rates
        self.clock = MonotonicClock()
        self._buckets: dict[str, InMemoryBucket] = {}
        self._lock = threading.Lock()

    def wrap_item(self, name: str, weight: int = 1) -> RateItem:
        return RateItem(name, self.clock.now(), weight)

    def get(self, item: RateItem) -> AbstractBucket:
        with self._lock:
            bucket = self._buckets.get(item.name)
            if bucket is None:
                bucket = self._buckets[item.name] = InMemoryBucket(self.rates)
        bucket.leak(item.timestamp)
        return bucket


class UserRateLimiter:
    def __init__(self, rate: UserRate) -> None:
        self.rate = rate
        self._buckets = PerUserBuckets(
            [Rate(rate.count, int(rate.window.total_seconds() * 1000))] if rate.limited else []
        )
        self._limiter = Limiter(self._buckets) if rate.limited else None

    def spend(self, user: str) -> timedelta | None:
        """Count one AWS-reading command of `user`: None when it fits the budget, or else how
        long until one more would (and nothing is counted)."""
        if self._limiter is None:
            return None
        if self._limiter.try_acquire(user, blocking=False) is True:
            return None
        item = self._buckets.wrap_item(user)
        wait_ms = self._buckets.get(item).waiting(item)
        assert isinstance(wait_ms, int)  # an in-memory bucket answers at once
        return max(timedelta(milliseconds=wait_ms), MIN_WAIT)
