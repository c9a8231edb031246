"""An HTTP proxy in front of moto that records when each AWS call arrives, for checking a request
rate where AWS would see it: one record per request on the wire (botocore's retries included),
with its API, the region of its signature and the log group it reads.

`busiest_second` is the most calls in any one-second span (sliding, not calendar seconds);
`shortest_span` the shortest time holding a given number of them.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from benchmarks.aws_proxy import Answer, ForwardingProxy, _api_name

_REGION = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/")
_SKIPPED_HEADERS = {"content-length", "transfer-encoding", "connection", "server", "date"}


@dataclass(frozen=True)
class Arrival:
    at: float  # time.monotonic() of this machine
    api: str
    region: str
    log_group: str  # "" for calls without one


class TimedProxy(ForwardingProxy):
    def __init__(self, upstream: str) -> None:
        self.arrivals: list[Arrival] = []
        self._lock = threading.Lock()
        super().__init__(upstream)

    def of(self, api: str) -> list[Arrival]:
        with self._lock:
            return [a for a in self.arrivals if a.api == api]

    def answer(self, method: str, path: str, headers: Any, body: bytes) -> Answer:
        self._record(headers, path, body)
        return self.forward(method, path, headers, body)

    def _record(self, headers: Any, path: str, body: bytes) -> None:
        at = time.monotonic()
        region = _REGION.search(headers.get("Authorization") or "")
        group = ""
        if body and body.startswith(b"{"):
            try:
                group = str(json.loads(body).get("logGroupName") or "")
            except ValueError:
                group = ""
        arrival = Arrival(at, _api_name(path, headers, body), region[1] if region else "", group)
        with self._lock:
            self.arrivals.append(arrival)


def busiest_second(arrivals: Iterable[Arrival]) -> int:
    """The most arrivals within any span shorter than one second."""
    times = sorted(a.at for a in arrivals)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def shortest_span(arrivals: Iterable[Arrival], count: int) -> float | None:
    """The shortest time holding `count` arrivals (None if there are fewer): at least one second
    when no second holds `count`; how far above one second is the margin."""
    times = sorted(a.at for a in arrivals)
    spans = [times[i + count - 1] - times[i] for i in range(len(times) - count + 1)]
    return min(spans) if spans else None
