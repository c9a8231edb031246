"""What /healthz answers: can this process reach the database, and when did the scheduler last tick.

The status is 503 only when the database cannot be reached: then this process cannot audit, watch
or silence, and a load balancer should send requests elsewhere. A stale scheduler is reported but
keeps 200: the digests are posted by the separate clock process (or `iamauth run`), so restarting
web workers would not bring it back, and commands are still answered. Alert on
`scheduler.stale` instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.adapters.store.repo import Store

DIGEST_BEAT = "digest"
# A tick may be late by a coalesced misfire or a slow AWS call; missing three in a row is not.
STALE_TICKS = 3
log = logging.getLogger(__name__)


def health(
    store: Store, clock: Callable[[], datetime], tick_seconds: int
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body)."""
    scheduler: dict[str, Any] = {"last_tick": None, "age_seconds": None, "stale": None}
    try:
        store.ping()
        beat = store.last_beat(DIGEST_BEAT)
    except Exception as error:
        # The URL and the driver's message may name hosts and users: logged, not served.
        log.warning("health check: the database cannot be reached", exc_info=True)
        database = {"ok": False, "error": type(error).__name__}
        return 503, {"ok": False, "pid": os.getpid(), "database": database, "scheduler": scheduler}
    if beat is None:
        scheduler.update(stale=True, detail="no tick recorded yet")
    else:
        at, detail = beat
        age = max(0.0, (clock() - at).total_seconds())
        scheduler.update(
            last_tick=at.isoformat(),
            age_seconds=round(age, 1),
            stale=age > STALE_TICKS * tick_seconds,
            detail=detail,
        )
    return 200, {"ok": True, "pid": os.getpid(), "database": {"ok": True}, "scheduler": scheduler}
