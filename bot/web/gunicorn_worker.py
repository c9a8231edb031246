"""gunicorn's gthread worker, whose threads are given only requests that have arrived whole.

gthread gives each accepted connection to a thread at once, and the thread then blocks reading
headers and body for as long as the client takes (5 s for a first byte, without end after it):
40 sockets that announced a body and sent none held the Procfile's 2 x 16 threads, and real
requests waited behind them past Slack's 3 s. Here the worker's event loop (the selector that
already watches its kept-alive connections) reads each request without blocking, h11 telling when
headers and body are complete, and only then gives the connection to a thread, its bytes waiting in
gunicorn's buffer. A stalled client costs a socket and a buffer, never a thread:
- a request not whole within IAMAUTH_REQUEST_TIMEOUT_SECONDS is answered 408 and closed;
- a body over IAMAUTH_MAX_BODY_BYTES (announced, or read so far) goes to the app at once, which
  refuses it (bot/web/request_guard.py), and the connection is closed instead of drained;
- what requests still arriving hold together is capped per worker; past it the oldest are dropped.
gunicorn also lingers in this loop when it closes a connection (up to 2 s, reading what the client
still sends, so the answer is not lost to a reset); here that lingering waits on the selector too,
so a client that never closes cannot stop the loop. TLS and HTTP/2 (both off here) keep gthread's
own handling. Written against gunicorn 27's gthread (pyproject.toml pins the major version).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import selectors
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import partial
from http import HTTPStatus
from typing import Any

import h11
from gunicorn.workers.gthread import TConn, ThreadWorker

from bot.web.request_limits import web_limits

log = logging.getLogger(__name__)

RECV_BYTES = 64 * 1024
# Bytes all requests still arriving may hold together in one worker: 64 bodies at the 1 MiB cap.
BUFFER_BUDGET = 64 * 1024 * 1024
LINGER_SECONDS = 2.0  # as gunicorn's util.close_graceful
LINGER_DRAIN = 64 * 1024
MAX_LINGERING = 1024  # past it a connection is closed at once (a reset may cut its last answer)
# Set on gunicorn's connection object when it is given to a thread.
_HEAD = "iamauth_received"  # the bytes read so far, for gunicorn's parser
_WHOLE = "iamauth_whole"  # False: the body was not read; close rather than drain it


class Outcome(Enum):
    WAIT = "wait"
    WHOLE = "whole"  # headers and body are here: a thread can serve it without waiting
    TOO_LARGE = "too large"  # the body is over the cap: the app refuses it without the rest
    UNREADABLE = "unreadable"  # not HTTP/1.x that h11 accepts: answered here


class Arrival:
    """A request on its way in: its bytes so far, h11's reading of them, and when it must be whole."""

    def __init__(self, conn: Any, deadline: float, *, max_body: int, max_head: int) -> None:
        self.conn = conn
        self.deadline = deadline
        self.received = bytearray()
        self.error = HTTPStatus.BAD_REQUEST
        self.wants_continue = False
        self._parser = h11.Connection(h11.SERVER, max_incomplete_event_size=max_head)
        self._max_body = max_body
        self._body = 0

    def feed(self, data: bytes) -> Outcome:
        self.received += data
        self._parser.receive_data(data)
        while True:
            try:
                event = self._parser.next_event()
            except h11.RemoteProtocolError as error:
                self.error = HTTPStatus(error.error_status_hint)
                return Outcome.UNREADABLE
            if event is h11.NEED_DATA:
                return Outcome.WAIT
            if event is h11.PAUSED or isinstance(event, h11.EndOfMessage):
                return Outcome.WHOLE  # PAUSED before the end: CONNECT or Upgrade, gunicorn's call
            if isinstance(event, h11.Request):
                if _declared_length(event) > self._max_body:
                    return Outcome.TOO_LARGE
                self.wants_continue = self._parser.they_are_waiting_for_100_continue
            elif isinstance(event, h11.Data):
                self._body += len(event.data)
                if self._body > self._max_body:
                    return Outcome.TOO_LARGE


def _declared_length(request: h11.Request) -> int:
    # h11 has checked it: digits only, one value.
    return next((int(v) for k, v in request.headers if k == b"content-length"), 0)


def _status_only(status: HTTPStatus) -> bytes:
    head = f"HTTP/1.1 {status.value} {status.phrase}\r\nConnection: close\r\n"
    return f"{head}Content-Length: 0\r\n\r\n".encode()


class _Conn(TConn):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's connection, whose lingering close is handed to the worker's event loop."""

    def __init__(self, *args: Any, linger: Callable[[socket.socket], None]) -> None:
        super().__init__(*args)
        self._linger = linger

    def close(self, graceful: bool = False) -> None:
        if graceful:
            self._linger(self.sock)
        else:
            super().close()


@dataclass
class _Lingering:
    until: float
    drained: int = 0


class RequestBufferingWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn is untyped
    def init_process(self) -> None:
        # Set up before gthread's init_process, which ends in the worker's run loop.
        limits = web_limits()
        self._max_body = limits.max_body
        self._timeout = limits.request_timeout
        self._max_head = _head_limit(self.cfg)
        self._buffers = not self.cfg.is_ssl and getattr(self.cfg, "http2_cleartext", "off") == "off"
        self._arriving: dict[Any, Arrival] = {}  # in the order of their deadlines
        self._held = 0  # bytes in self._arriving
        self._lingering: dict[socket.socket, _Lingering] = {}  # in the order of their ends
        super().init_process()

    # Connections come in, and come back after a kept-alive request, through these two.
    def accept(self, listener: socket.socket) -> None:
        if not self._buffers:
            super().accept(listener)
            return
        try:
            sock, client = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = _Conn(self.cfg, sock, client, listener.getsockname(), linger=self._linger)
        self.enqueue_req(conn)

    def enqueue_req(self, conn: Any) -> None:
        """Wait on the selector for the whole request, instead of giving the connection to a
        thread now."""
        if not self._buffers:
            super().enqueue_req(conn)
            return
        arrival = Arrival(
            conn,
            time.monotonic() + self._timeout,
            max_body=self._max_body,
            max_head=self._max_head,
        )
        self._arriving[conn] = arrival
        conn.sock.setblocking(False)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, arrival))
        # A pipelined request may already be in gunicorn's buffer, read behind the last one.
        early = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        if early:
            self._receive(arrival, early)

    def _on_readable(self, arrival: Arrival, _sock: socket.socket) -> None:
        try:
            data = arrival.conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            self._receive(arrival, data)
        else:  # the client went away
            self._close(arrival, None)

    def _receive(self, arrival: Arrival, data: bytes) -> None:
        self._held += len(data)
        outcome = arrival.feed(data)
        if outcome is Outcome.UNREADABLE:
            log.info("refused a request the worker could not read: %s", arrival.error.value)
            self._close(arrival, arrival.error)
        elif outcome is not Outcome.WAIT:
            self._hand_over(arrival, whole=outcome is Outcome.WHOLE)
        else:
            if arrival.wants_continue:  # the client waits for this before it sends the body
                arrival.wants_continue = False
                _send_quietly(arrival.conn.sock, b"HTTP/1.1 100 Continue\r\n\r\n")
            self._keep_within_budget()

    def _keep_within_budget(self) -> None:
        while self._held > BUFFER_BUDGET and self._arriving:
            oldest = next(iter(self._arriving.values()))
            log.warning(
                "dropped a slow request: requests still arriving held more than %d bytes",
                BUFFER_BUDGET,
            )
            self._close(oldest, HTTPStatus.SERVICE_UNAVAILABLE)

    def _hand_over(self, arrival: Arrival, *, whole: bool) -> None:
        self._forget(arrival)
        setattr(arrival.conn, _HEAD, bytes(arrival.received))
        setattr(arrival.conn, _WHOLE, whole)
        super().enqueue_req(arrival.conn)

    def _close(self, arrival: Arrival, answer: HTTPStatus | None) -> None:
        self._forget(arrival)
        self.nr_conns -= 1
        if answer is not None:
            _send_quietly(arrival.conn.sock, _status_only(answer))
        arrival.conn.close(graceful=True)

    def _forget(self, arrival: Arrival) -> None:
        del self._arriving[arrival.conn]
        self._held -= len(arrival.received)
        _unregister(self.poller, arrival.conn.sock)

    # In a thread: gunicorn's parser reads the request from the bytes received.
    def handle(self, conn: Any) -> Any:
        received = getattr(conn, _HEAD, None)
        if received is not None:
            setattr(conn, _HEAD, None)
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(received)
        return super().handle(conn)

    def _keepalive_after(self, conn: Any, keepalive: bool) -> bool:
        # gthread would drain an unread body for up to 5 s in this thread; one over the cap is
        # never read, so its connection closes.
        if not getattr(conn, _WHOLE, True):
            return False
        return bool(super()._keepalive_after(conn, keepalive))

    # Deadlines: gthread calls this on every turn of its loop (at least once a second).
    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        while self._arriving:
            arrival = next(iter(self._arriving.values()))
            if arrival.deadline > now:
                break
            if arrival.received:
                log.info(
                    "closed a connection whose request was not whole within %g s (%d bytes came)",
                    self._timeout,
                    len(arrival.received),
                )
            self._close(arrival, HTTPStatus.REQUEST_TIMEOUT if arrival.received else None)
        while self._lingering:
            sock, lingering = next(iter(self._lingering.items()))
            if lingering.until > now:
                break
            self._stop_lingering(sock)

    # Closing: half-close, then read what the client still sends until it closes too.
    def _linger(self, sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            sock.close()
            return
        # May be called in a thread; the selector is the loop's own.
        self.method_queue.defer(self._start_lingering, sock)

    def _start_lingering(self, sock: socket.socket) -> None:
        if len(self._lingering) >= MAX_LINGERING:
            sock.close()
            return
        sock.setblocking(False)
        self._lingering[sock] = _Lingering(time.monotonic() + LINGER_SECONDS)
        self.poller.register(sock, selectors.EVENT_READ, self._drain)

    def _drain(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        lingering = self._lingering[sock]
        lingering.drained += len(data)
        if not data or lingering.drained >= LINGER_DRAIN:
            self._stop_lingering(sock)

    def _stop_lingering(self, sock: socket.socket) -> None:
        del self._lingering[sock]
        _unregister(self.poller, sock)
        sock.close()


def _head_limit(cfg: Any) -> int:
    """The largest request line and headers gunicorn accepts, so h11 refuses no more than it."""
    limits = (cfg.limit_request_line, cfg.limit_request_fields, cfg.limit_request_field_size)
    line, fields, size = (int(n) for n in limits)
    if min(limits) <= 0:  # 0: unlimited in gunicorn
        return 1024 * 1024
    return line + fields * (size + 2) + 4


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    # A few bytes to a socket that is not blocking: if they do not fit, the client is not reading.
    with contextlib.suppress(OSError):
        sock.send(data)


def _unregister(poller: selectors.BaseSelector, sock: socket.socket) -> None:
    with contextlib.suppress(KeyError, ValueError, OSError):  # not registered, or closed
        poller.unregister(sock)
