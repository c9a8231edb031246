"""How much, and for how long, the web process reads a request before it is refused.

Shared by the gunicorn worker (bot/web/gunicorn_worker.py), which reads each request whole before a
thread serves it, and by the WSGI guard on /slack/events (bot/web/request_guard.py). Read from
the environment in each process (the worker class is loaded before the app), so kept free of
bot.config and its imports.

The body cap: Slack's payloads are small. A slash command is under 4 KB; a button click
(block_actions) carries the message it was on (at most 50 blocks) and a modal's submission its
state (at most 100 blocks, inputs of at most 3,000 characters): a few hundred KB at the very most,
URL-encoded. 1 MiB refuses none of them and bounds what one request can make a worker hold.

The timeout: Slack gives up on a request that is not answered within 3 s, so one whose headers and
body have not all arrived within 5 s can only be an attack or a broken client.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

MAX_BODY_ENV = "IAMAUTH_MAX_BODY_BYTES"
REQUEST_TIMEOUT_ENV = "IAMAUTH_REQUEST_TIMEOUT_SECONDS"
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_REQUEST_TIMEOUT = 5.0
_MAX_BODY_RANGE = (1024, 64 * 1024 * 1024)
_TIMEOUT_RANGE = (0.1, 300.0)


@dataclass(frozen=True)
class WebLimits:
    max_body: int  # bytes of request body; more is refused with 413
    request_timeout: float  # seconds for a whole request (headers and body) to arrive; then 408


def web_limits(environ: Mapping[str, str] = os.environ) -> WebLimits:
    """The limits in force; ValueError, saying which variable and why, for a value out of range."""
    return WebLimits(
        max_body=int(_number(environ, MAX_BODY_ENV, DEFAULT_MAX_BODY, _MAX_BODY_RANGE, whole=True)),
        request_timeout=_number(
            environ, REQUEST_TIMEOUT_ENV, DEFAULT_REQUEST_TIMEOUT, _TIMEOUT_RANGE, whole=False
        ),
    )


def _number(
    environ: Mapping[str, str],
    name: str,
    default: float,
    allowed: tuple[float, float],
    *,
    whole: bool,
) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    low, high = allowed
    kind = (
        f"a whole number from {int(low)} to {int(high)}" if whole else f"from {low:g} to {high:g}"
    )
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ValueError(f"{name}={raw!r} must be {kind}.")
    return value
