"""moto behind a local HTTP proxy that holds or refuses the requests a test picks: one slow or one
refusing corner of AWS, the rest answering. Clients reach it as AWS, through their endpoint URL."""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from benchmarks.aws_proxy import _api_name

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/")
# STS (the query protocol) refusing AssumeRole: the role's trust policy does not name the bot.
_ASSUME_ROLE_DENIED = (
    b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
    b"<Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole"
    b"</Message></Error><RequestId>4b1b5a2e-0000-4000-8000-000000000000</RequestId>"
    b"</ErrorResponse>"
)


@dataclass(frozen=True)
class Call:
    api: str  # GetMetricData, FilterLogEvents, AssumeRole…
    region: str  # from the request's signature
    body: bytes


class FaultyAws:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.hold: Callable[[Call], bool] = lambda _: False  # no answer until release()
        self.deny_assume_role: Callable[[Call], bool] = lambda _: False
        self.held: list[Call] = []
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def release(self) -> None:
        self._released.set()

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, call: Call, method: str, path: str, headers: Any) -> tuple[int, bytes, Any]:
        if self.hold(call):
            self.held.append(call)
            self._released.wait()
        if call.api == "AssumeRole" and self.deny_assume_role(call):
            return 403, _ASSUME_ROLE_DENIED, {"Content-Type": "text/xml"}
        forwarded = {
            k: v for k, v in headers.items() if k.lower() not in {"host", "content-length"}
        }
        request = urllib.request.Request(
            self.upstream + path, data=call.body or None, headers=forwarded, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                scope = _SCOPE.search(self.headers.get("Authorization", ""))
                call = Call(
                    _api_name(self.path, self.headers, body), scope[1] if scope else "", body
                )
                status, payload, headers = proxy._answer(
                    call, self.command, self.path, self.headers
                )
                skip = {"content-length", "transfer-encoding", "connection", "server", "date"}
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        if key.lower() not in skip:
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # a held request's client gave up waiting long ago

            do_GET = do_POST = _forward

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


def faulty_aws(upstream: str) -> Iterator[FaultyAws]:
    proxy = FaultyAws(upstream)
    try:
        yield proxy
    finally:
        proxy.stop()
