"""A part of a tick that failed alone (one place's metrics, one cluster's log detail): counted in
iamauth_digest_parts_failed and logged; the rest of the tick goes on without it."""

from __future__ import annotations

import logging

from bot.ops.isolation import TIMED_OUT, Failed
from bot.ops.telemetry import DIGEST_PARTS_FAILED

log = logging.getLogger(__name__)


def left_out(part: str, what: str, failure: Failed) -> None:
    DIGEST_PARTS_FAILED.labels(part, failure.reason).inc()
    reason = failure.error if failure.reason != TIMED_OUT else "no answer in time"
    log.warning("digest %s of %s left out this tick: %s", part, what, reason)
