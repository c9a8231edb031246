"""Ack latency, the same way over HTTP and Socket Mode: a global Bolt middleware gives each request
an `ack` that observes, when first called, the seconds since the middleware saw the request.

What this measures: from Bolt handing a verified request to the global middleware (after the
signature check and authorisation, which are local and fast) until the listener calls ack() — the
wait for a free listener thread included. Not measured: the network, reading the HTTP body, and the
up to 10 ms Bolt's HTTP runner polls before it sends the ack it was given.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from slack_bolt.context.ack import Ack
from slack_bolt.middleware.middleware import Middleware
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from bot.ops.telemetry import ACK_SECONDS


class TimedAck(Ack):
    def __init__(self, started: float, kind: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._started = started
        self._kind = kind
        self._observed = False

    def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        response = super().__call__(*args, **kwargs)
        if not self._observed:
            self._observed = True
            ACK_SECONDS.labels(self._kind).observe(time.monotonic() - self._started)
        return response


def payload_type(body: dict[str, Any]) -> str:
    """slash_command, block_actions, view_submission…: few values, fit for a label."""
    if body.get("command"):
        return "slash_command"
    return str(body.get("type") or "other")[:40]


class AckTimer(Middleware):
    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],  # Bolt's name for it
    ) -> BoltResponse | None:
        req.context["ack"] = TimedAck(time.monotonic(), payload_type(req.body))
        return next()
