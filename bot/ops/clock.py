"""The one clock source: every service, the digest and the store's timestamps are given a clock,
this one unless a test or the demo passes its own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
