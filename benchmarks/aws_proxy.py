"""A counting, optionally slow, HTTP proxy in front of moto's server, for the benchmarks.

Every AWS call the bot makes passes through it, so calls are counted at the HTTP level (one per
request on the wire, retries included), by API name; `delay` adds seconds to each call to stand in
for a slow AWS.

`aws_in_child()` runs moto and the proxy in a child process, so that the CPU time a benchmark
measures in its own process is the bot's, not the emulator's; `RemoteCounts` reads and resets the
proxy's counts there over HTTP (`CONTROL_PATH`, never forwarded).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import parse_qs

from bot.sandbox.aws_emulator import FAKE_AWS_ENV, embedded_aws

CONTROL_PATH = "/__iamauth_bench/calls"


# Headers not passed on: the hop's own (host, lengths, connection) and what the server adds.
_NOT_FORWARDED = frozenset({"host", "content-length"})
_NOT_RETURNED = frozenset({"content-length", "transfer-encoding", "connection", "server", "date"})
Answer = tuple[int, bytes, Any]  # status, body, headers


class ForwardingProxy:
    """An HTTP server on a free local port that passes every request on to `upstream` (moto) and
    its answer back. Subclasses see each request first by overriding `answer` (count it, time it,
    hold it, refuse it) and call `forward` to pass it on. The counting proxy below, the timing
    proxy (benchmarks/call_times.py) and the faulty one of the tests (tests/integration/
    aws_faults.py) are this with their own `answer`."""

    timeout = 120.0  # seconds to wait for the upstream's answer

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload, headers = proxy.answer(self.command, self.path, self.headers, body)
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        if key.lower() not in _NOT_RETURNED:
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    return  # the caller is gone (it gave up, or its process stopped)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, method: str, path: str, headers: Any, body: bytes) -> Answer:
        return self.forward(method, path, headers, body)

    def forward(self, method: str, path: str, headers: Any, body: bytes) -> Answer:
        passed = {k: v for k, v in headers.items() if k.lower() not in _NOT_FORWARDED}
        request = urllib.request.Request(  # noqa: S310 - the local emulator
            self.upstream + path, data=body or None, headers=passed, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers


class CountingProxy(ForwardingProxy):
    def __init__(self, upstream: str, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        super().__init__(upstream)

    def answer(self, method: str, path: str, headers: Any, body: bytes) -> Answer:
        if path == CONTROL_PATH:
            return self._control(method)
        with self._lock:
            self.calls[_api_name(path, headers, body)] += 1
        if self.delay:
            time.sleep(self.delay)
        return self.forward(method, path, headers, body)

    def _control(self, method: str) -> Answer:
        """GET: the counts so far, as JSON; DELETE: the same, and start again from zero."""
        with self._lock:
            payload = json.dumps(dict(self.calls)).encode()
            if method == "DELETE":
                self.calls.clear()
        return 200, payload, {"Content-Type": "application/json"}

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()


class RemoteCounts:
    """The counts of a CountingProxy in another process, read over HTTP."""

    def __init__(self, proxy_url: str) -> None:
        self.url = proxy_url.rstrip("/") + CONTROL_PATH

    def _ask(self, method: str) -> Counter[str]:
        request = urllib.request.Request(self.url, method=method)  # noqa: S310 - local
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return Counter({str(k): int(v) for k, v in json.loads(response.read()).items()})

    def calls(self) -> Counter[str]:
        return self._ask("GET")

    def reset(self) -> Counter[str]:
        """The counts so far, and zero from now on."""
        return self._ask("DELETE")


def _serve(connection: Connection, delay: float) -> None:
    with embedded_aws() as endpoint:
        proxy = CountingProxy(endpoint, delay=delay)
        connection.send((endpoint, proxy.url))
        connection.recv()  # until the parent is done (or gone: EOFError)
        proxy.stop()


@contextlib.contextmanager
def aws_in_child(delay: float = 0.0) -> Iterator[tuple[str, str]]:
    """(moto's endpoint, the counting proxy's URL), both served by a child process; this process
    gets the emulator's fake credentials for as long as they run."""
    parent, child = multiprocessing.get_context("fork").Pipe()
    process = multiprocessing.get_context("fork").Process(
        target=_serve, args=(child, delay), daemon=True
    )
    process.start()
    saved = {k: os.environ.get(k) for k in FAKE_AWS_ENV}
    os.environ.update(FAKE_AWS_ENV)
    try:
        if not parent.poll(60):
            raise RuntimeError("the AWS emulator did not start within 60 s")
        endpoint, proxy_url = parent.recv()
        yield str(endpoint), str(proxy_url)
    finally:
        with contextlib.suppress(OSError):
            parent.send("stop")
        process.join(timeout=15)
        if process.is_alive():
            process.terminate()
            process.join()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


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
