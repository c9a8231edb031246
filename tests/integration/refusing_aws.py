"""AWS endpoints that fail, over real HTTP and TCP: for the errors moto cannot produce.

RefusingAws answers every call with one AWS error code, in the wire format of the calling service
(JSON for CloudWatch Logs, query XML for RDS and STS); SilentServer accepts connections and never
answers (read timeouts); closed_port() is a port nothing listens on (connection refused).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.sandbox.local_server import LocalServer

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment


class RefusingAws:
    def __init__(self, code: str, status: int = 400) -> None:
        self.code = code
        self.status = status
        self.calls = 0
        self._server = LocalServer(self)

    @property
    def url(self) -> str:
        return self._server.url

    def __enter__(self) -> RefusingAws:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        self.calls += 1
        length = int(environ.get("CONTENT_LENGTH") or 0)
        environ["wsgi.input"].read(length)
        message = f"refused with {self.code} by the test"
        if environ.get("HTTP_X_AMZ_TARGET"):  # the JSON protocol
            body = json.dumps({"__type": self.code, "message": message}).encode()
            kind = "application/x-amz-json-1.1"
        else:  # the query protocol
            body = (
                "<ErrorResponse><Error><Type>Sender</Type>"
                f"<Code>{self.code}</Code><Message>{message}</Message>"
                "</Error><RequestId>test</RequestId></ErrorResponse>"
            ).encode()
            kind = "text/xml"
        start_response(
            f"{self.status} Refused",
            [("Content-Type", kind), ("Content-Length", str(len(body)))],
        )
        return [body]


class SilentServer:
    """Accepts every connection and never answers."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:  # closed by __exit__
                return
            self._held.append(connection)

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)  # wakes the accept() under way (Linux)
        self._socket.close()
        self._thread.join(timeout=5)
        for connection in self._held:
            connection.close()


def closed_port() -> str:
    """The URL of a local port that was free a moment ago: connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
