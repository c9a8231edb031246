"""The WSGI guard before Bolt on /slack/events: size, time and signature, checked on raw bytes.

Bolt reads the whole body whatever its size, decodes it and, when the signature is wrong, logs it
at INFO; anyone could make a worker hold and log gigabytes without a signature. The guard reads at
most the cap (refusing a larger Content-Length with 413 before reading a byte), within a deadline
(408), checks the Slack signature (401, logged as one short line without the body), and only then
hands Bolt the bytes it read. Bolt checks the signature again; that costs one HMAC.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from http import HTTPStatus
from typing import TYPE_CHECKING

from slack_sdk.signature import SignatureVerifier

from bot.web.request_limits import WebLimits

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)
# Slack refuses to replay older requests too: a signed request more than 5 minutes old is refused.
MAX_AGE_SECONDS = 5 * 60
_READ_STEP = 64 * 1024
# The only record this Bolt logger writes is "Invalid request signature detected (… body: …)".
_BOLT_VERIFICATION_LOGGER = "slack_bolt.RequestVerification"


class Refused(Exception):
    """`reason` is answered to the client; `detail`, when given, is logged instead of it."""

    def __init__(self, status: HTTPStatus, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.detail = detail or reason


class SlackRequestGuard:
    """Wraps `inner` (Bolt's SlackRequestHandler); only POSTs to `path` are checked."""

    def __init__(
        self, inner: WSGIApplication, *, signing_secret: str, limits: WebLimits, path: str
    ) -> None:
        self._inner = inner
        self._verifier = SignatureVerifier(signing_secret)
        self._limits = limits
        self._path = path
        silence_bolt_body_logging()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != self._path:
            return self._inner(environ, start_response)
        try:
            body = read_body(environ, self._limits)
            self._check_signature(environ, body)
        except Refused as refused:
            log.info("refused a request to %s: %s", self._path, refused.detail)
            return _answer(start_response, refused.status, refused.reason)
        checked = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        checked.pop("HTTP_TRANSFER_ENCODING", None)  # the body is now whole, of that length
        return self._inner(checked, start_response)

    def _check_signature(self, environ: WSGIEnvironment, body: bytes) -> None:
        timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""))
        signature = str(environ.get("HTTP_X_SLACK_SIGNATURE", ""))
        if not signature or not (timestamp.isascii() and timestamp.isdigit()):
            raise _unsigned("no Slack signature", body)
        if len(timestamp) > 12:  # not a time, and int() refuses more than 4,300 digits
            raise _unsigned("a Slack timestamp more than 5 minutes away", body)
        if abs(time.time() - int(timestamp)) > MAX_AGE_SECONDS:
            raise _unsigned("a Slack timestamp more than 5 minutes away", body)
        try:
            valid = self._verifier.is_valid(body, timestamp, signature)
        except UnicodeDecodeError:  # the verifier decodes the body as UTF-8; Slack's always is
            valid = False
        if not valid:
            raise _unsigned("a wrong Slack signature", body)


def read_body(environ: WSGIEnvironment, limits: WebLimits) -> bytes:
    """The request body, at most `limits.max_body` bytes, read within `limits.request_timeout`."""
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    length: int | None = None
    if declared:
        if not (declared.isascii() and declared.isdigit()):
            raise Refused(HTTPStatus.BAD_REQUEST, "Content-Length is not a number")
        # Refused before a byte of it is read; its length is compared as text first, since int()
        # refuses numbers of more than 4,300 digits.
        digits = declared.lstrip("0")
        if len(digits) > len(str(limits.max_body)) or int(digits or "0") > limits.max_body:
            raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _too_large(limits))
        length = int(digits or "0")
    elif not environ.get("wsgi.input_terminated"):
        # PEP 3333: without a Content-Length, a body is read only from a server that ends the
        # stream where the body ends (gunicorn does, for a chunked one).
        return b""
    wanted = limits.max_body + 1 if length is None else length
    deadline = time.monotonic() + limits.request_timeout
    stream = environ["wsgi.input"]
    pieces: list[bytes] = []
    received = 0
    ended = False  # the stream ended: all the client sent is here
    with _reads_end_at(environ.get("gunicorn.socket"), limits.request_timeout):
        while received < wanted and time.monotonic() < deadline:
            try:
                piece = stream.read(min(_READ_STEP, wanted - received))
            except Exception as error:  # the server's own (OSError, a bad chunk): no body
                if time.monotonic() >= deadline:
                    break
                raise Refused(HTTPStatus.BAD_REQUEST, "the body could not be read") from error
            if not piece:  # unless it is the deadline's doing (_reads_end_at)
                ended = time.monotonic() < deadline
                break
            pieces.append(piece)
            received += len(piece)
    if received < wanted and not ended:
        raise Refused(
            HTTPStatus.REQUEST_TIMEOUT,
            f"the body did not arrive within {limits.request_timeout:g} s",
        )
    if length is None and received > limits.max_body:
        raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _too_large(limits))
    if length is not None and received < length:
        raise Refused(HTTPStatus.BAD_REQUEST, "the body ended before its Content-Length")
    return b"".join(pieces)


@contextlib.contextmanager
def _reads_end_at(sock: socket.socket | None, seconds: float) -> Iterator[None]:
    """A read blocked in the server cannot look at a clock, and a per-read socket timeout lets a
    client that trickles a byte at a time go on for ever; at the deadline the socket's reading side
    is shut instead, which ends a blocked read at once (gunicorn gives the socket; elsewhere only
    the checks between reads apply)."""
    if sock is None:
        yield
        return
    timer = threading.Timer(seconds, _shut_reading, (sock,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _shut_reading(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed meanwhile
        sock.shutdown(socket.SHUT_RD)


def _unsigned(why: str, body: bytes) -> Refused:
    # Bolt's own answer to a bad signature, and a log line that says why but holds nothing sent.
    return Refused(
        HTTPStatus.UNAUTHORIZED, "invalid request", f"{why} ({len(body)} bytes, not logged)"
    )


def _too_large(limits: WebLimits) -> str:
    return f"the body is larger than {limits.max_body} bytes"


def _answer(start_response: StartResponse, status: HTTPStatus, reason: str) -> list[bytes]:
    body = json.dumps({"error": reason}).encode()
    start_response(
        f"{status.value} {status.phrase}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def silence_bolt_body_logging() -> None:
    """Bolt logs the whole body of a request whose signature it refuses, at INFO. The guard refuses
    those first, but a request can pass it and then reach Bolt past the 5-minute mark. A filter,
    not a level: Bolt copies its base logger's level onto this logger whenever an App is made."""
    logger = logging.getLogger(_BOLT_VERIFICATION_LOGGER)
    if not any(isinstance(f, _DropAll) for f in logger.filters):
        logger.addFilter(_DropAll())


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False
