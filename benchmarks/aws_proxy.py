"""A counting, optionally slow, HTTP proxy in front of moto's server, for the benchmarks.

Every AWS call the bot makes passes through it, so calls are counted at the HTTP level (one per
request on the wire, retries included), by API name; `delay` adds seconds to each call to stand in
for a slow AWS.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


class CountingProxy:
    def __init__(self, upstream: str, delay: float = 0.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.delay = delay
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with proxy._lock:
                    proxy.calls[_api_name(self.path, self.headers, body)] += 1
                if proxy.delay:
                    time.sleep(proxy.delay)
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
                        status, payload, reply_headers = (
                            response.status,
                            response.read(),
                            response.headers,
                        )
                except urllib.error.HTTPError as error:
                    status, payload, reply_headers = error.code, error.read(), error.headers
                self.send_response(status)
                for key, value in reply_headers.items():
                    if key.lower() not in {
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "server",
                        "date",
                    }:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _api_name(path: str, headers: Any, body: bytes | None) -> str:
    if "/operation/" in path:  # the smithy RPC v2 protocol (CloudWatch on newer botocore)
        return path.rstrip("/").rsplit("/", 1)[-1]
    target = headers.get("X-Amz-Target")
    if target:  # JSON protocols (CloudWatch Logs, and CloudWatch on newer botocore)
        return str(target).split(".")[-1]
    if body:  # query protocols (RDS, STS, CloudWatch)
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return action[0]
    return "other"
