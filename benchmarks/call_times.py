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
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from benchmarks.aws_proxy import _api_name

_REGION = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/")
_SKIPPED_HEADERS = {"content-length", "transfer-encoding", "connection", "server", "date"}


@dataclass(frozen=True)
class Arrival:
    at: float  # time.monotonic() of this machine
    api: str
    region: str
    log_group: str  # "" for calls without one


class TimedProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.arrivals: list[Arrival] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def of(self, api: str) -> list[Arrival]:
        with self._lock:
            return [a for a in self.arrivals if a.api == api]

    def _record(self, headers: Any, path: str, body: bytes | None) -> None:
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

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                proxy._record(self.headers, self.path, body)
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in {"host", "content-length"}
                }
                request = urllib.request.Request(  # noqa: S310 - the local emulator
                    proxy.upstream + self.path, data=body, headers=headers, method=self.command
                )
                try:
                    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                        status, payload, reply = response.status, response.read(), response.headers
                except urllib.error.HTTPError as error:
                    status, payload, reply = error.code, error.read(), error.headers
                try:
                    self.send_response(status)
                    for key, value in reply.items():
                        if key.lower() not in _SKIPPED_HEADERS:
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the caller is gone (a process stopped at the end of a run)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


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
