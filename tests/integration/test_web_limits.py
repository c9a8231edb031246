"""The public web process under abuse: the Procfile's gunicorn, started here, attacked over sockets.

Bodies too large, bodies and headers that never finish, requests without a signature: each is
refused without reading more than the cap, within the request timeout, without its body in the
log, and a real, signed slash command is still answered at once meanwhile.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.bootstrap import Runtime, build_app, wsgi_app
from bot.sandbox.local_server import LocalServer
from bot.sandbox.slack_signing import signed_headers, slash_command_body
from bot.sandbox.slack_standin import SlackStandIn
from bot.web.request_limits import MAX_BODY_ENV, REQUEST_TIMEOUT_ENV
from tests.conftest import BotUnderTest, run_iamauth
from tests.integration.test_demo_and_web import (
    ROOT,
    free_port,
    iamauth_web_command,
    procfile_web_command,
)

MiB = 1024 * 1024


@dataclass
class Web:
    process: subprocess.Popen[bytes]
    port: int
    secret: str
    slack: SlackStandIn
    output: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.output.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        """gunicorn's workers: the processes whose parent is the master."""
        pids = []
        for status in Path("/proc").glob("[0-9]*/status"):
            with contextlib.suppress(OSError):
                fields = dict(
                    line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
                )
                if int(fields["PPid"]) == self.process.pid:
                    pids.append(int(status.parent.name))
        return pids

    def command(self, text: str, name: str) -> tuple[int, float]:
        """A signed `/iamauth TEXT`, as Slack sends it: (status, seconds until the ack)."""
        body = slash_command_body(text, self.slack.response_url(name))
        request = urllib.request.Request(
            f"{self.base}/slack/events",
            data=body,
            headers=signed_headers(self.secret, body),
            method="POST",
        )
        started = time.monotonic()
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, time.monotonic() - started


@contextlib.contextmanager
def running(
    moto_endpoint: str,
    tmp_path: Path,
    command: Callable[[int], list[str]],
    **extra_env: str,
) -> Iterator[Web]:
    port = free_port()
    secret = secrets.token_hex(16)
    output = tmp_path / f"web-{port}.log"
    with SlackStandIn() as slack, output.open("wb") as sink:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": secret,
            "SLACK_API_URL": slack.api_url,
            "AWS_ENDPOINT_URL": moto_endpoint,
            "PORT": str(port),
            "DATABASE_URL": f"sqlite:///{tmp_path}/web-{port}.db",
            **extra_env,
        }
        process = subprocess.Popen(command(port), env=env, cwd=ROOT, stdout=sink, stderr=sink)
        web = Web(process, port, secret, slack, output)
        try:
            wait_until_healthy(web)
            yield web
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def wait_until_healthy(web: Web) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{web.base}/healthz", timeout=2) as response:
                assert response.status == 200
                return
        except OSError:
            assert web.process.poll() is None, web.log()[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def web(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    """The Procfile's `web:` line, exactly, with the default limits."""
    with running(moto_endpoint, tmp_path_factory.mktemp("web"), procfile_web_command) as web:
        yield web


def connect(web: Web) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", web.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def head(content_length: int | str | None, *extra: str) -> bytes:
    lines = ["POST /slack/events HTTP/1.1", "Host: 127.0.0.1"]
    lines.append(
        "Transfer-Encoding: chunked"
        if content_length is None
        else f"Content-Length: {content_length}"
    )
    lines += ["Content-Type: application/x-www-form-urlencoded", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status_of(sock: socket.socket, timeout: float) -> int | None:
    """The status of the answer on `sock`, or None when it closed without one."""
    sock.settimeout(timeout)
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while b"\r\n" not in received:
            piece = sock.recv(4096)
            if not piece:
                break
            received += piece
    if not received.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")):
        return None
    return int(received.split(b" ", 2)[1])


def keep_sending(sock: socket.socket, size: int, *, chunked: bool = False) -> threading.Thread:
    """Send a body of `size` bytes in the background until done or the server hangs up."""
    piece = b"a=" + b"x" * (MiB - 2)

    def send() -> None:
        with contextlib.suppress(OSError):
            sent = 0
            while sent < size:
                part = piece[: size - sent]
                sock.sendall(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
                sent += len(part)
            if chunked:
                sock.sendall(b"0\r\n\r\n")

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def peak_rss_kib(pid: int) -> int:
    """The most memory the process has held at any one time (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for {pid}")


def test_oversized_unsigned_bodies_are_refused_unread(web: Web) -> None:
    assert web.command("failures ghost-db", "warm")[0] == 200  # lazy imports happen before
    workers = web.worker_pids()
    assert len(workers) == 2
    before = sum(peak_rss_kib(pid) for pid in workers)
    answers = []
    for size, chunked in [(50 * MiB, False)] * 6 + [(20 * MiB, True)] * 2:
        sock = connect(web)
        sock.sendall(head(None if chunked else size))
        sender = keep_sending(sock, size, chunked=chunked)
        started = time.monotonic()
        answers.append((status_of(sock, timeout=30), time.monotonic() - started))
        sender.join(timeout=30)  # the server hung up: sending failed
        assert not sender.is_alive()
        sock.close()
    grown_mib = (sum(peak_rss_kib(pid) for pid in workers) - before) / 1024
    # Read whole, these bodies are 340 MiB, and Bolt decodes each into a str too: 620 MiB more
    # at the peak. Refused, a few MiB stay with the threads that read a chunked body's first MiB.
    assert grown_mib < 48, f"the workers' peak memory grew by {grown_mib:.0f} MiB"
    assert [status for status, _ in answers] == [413] * 8
    assert max(seconds for _, seconds in answers) < 2
    assert web.worker_pids() == workers  # none was killed and replaced


def test_stalled_sockets_do_not_starve_a_signed_command(web: Web) -> None:
    stalled = []
    for _ in range(10):  # gthread gave each of these a thread until the client went away
        for opening in [
            head(1_000_000) + b"a=1",  # a body under the cap, never finished
            head(100) + b"a=1",
            head(100).split(b"\r\n")[0] + b"\r\nHost: 127.0.0.1\r\n",  # headers never finished
            head(50 * MiB),  # over the cap: answered 413 at once, then neither read nor closed
        ]:
            sock = connect(web)
            sock.sendall(opening)
            stalled.append(sock)
    stalled += [connect(web) for _ in range(5)]  # nothing sent at all
    status, ack_seconds = web.command("failures ghost-db", "real")
    assert status == 200
    assert ack_seconds < 3  # Slack's limit
    reply = web.slack.wait_for(lambda r: r.path == "/response/real", timeout=30)
    assert "There is no Aurora cluster or RDS DB instance `ghost-db`" in reply.body["text"]
    for sock in stalled:
        sock.close()


def test_plain_http_still_works_kept_alive_pipelined_and_with_100_continue(web: Web) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10)
    for _ in range(3):  # one connection, kept alive between requests
        connection.request("GET", "/healthz")
        assert connection.getresponse().read().startswith(b'{"ok": true')
    connection.close()
    # A client that waits for "100 Continue" before it sends the body gets it before the body.
    body = slash_command_body("failures ghost-db", web.slack.response_url("continue"))
    signed = signed_headers(web.secret, body)
    sock = connect(web)
    sock.sendall(
        head(len(body), *(f"{k}: {v}" for k, v in signed.items() if k.startswith("X-"))).replace(
            b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n"
        )
    )
    assert status_of(sock, timeout=5) == 100
    sock.sendall(body)
    web.slack.wait_for(lambda r: r.path == "/response/continue", timeout=30)
    sock.close()
    sock = connect(web)  # two requests in one write: both answered, in order
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 2)
    answers = b""
    while answers.count(b"\r\n0\r\n\r\n") < 2:  # the end of two chunked answers
        piece = sock.recv(65536)
        assert piece, answers
        answers += piece
    assert answers.count(b"HTTP/1.1 200 OK") == 2
    sock.close()


def test_unsigned_requests_are_refused_and_their_bodies_never_logged(web: Web) -> None:
    marker = secrets.token_hex(8)
    body = slash_command_body(f"silence prod-db 1h {marker}", web.slack.response_url("forged"))
    now = int(time.time())
    for headers in [
        {"Content-Type": "application/x-www-form-urlencoded"},
        signed_headers("wrong-secret", body),
        signed_headers(web.secret, body, timestamp=now - 301),
    ]:
        request = urllib.request.Request(
            f"{web.base}/slack/events", data=body, headers=headers, method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 401
    log = web.log()
    assert marker not in log
    # One short line each instead, saying why.
    assert "refused a request to /slack/events: no Slack signature (" in log
    assert "refused a request to /slack/events: a wrong Slack signature (" in log
    assert "refused a request to /slack/events: a Slack timestamp more than 5 minutes away (" in log
    assert web.slack.responses("forged") == []


@pytest.mark.parametrize("worker_class", ["procfile", "gthread"])
def test_a_stalled_body_is_answered_408_at_the_deadline(
    moto_endpoint: str, tmp_path: Path, worker_class: str
) -> None:
    """With the Procfile's worker, the worker's own deadline; with plain gthread, the guard's."""

    def command(port: int) -> list[str]:
        words = procfile_web_command(port)
        if worker_class == "gthread":
            words[words.index("--worker-class") + 1] = "gthread"
        return words

    timeout = 2.0
    with running(moto_endpoint, tmp_path, command, **{REQUEST_TIMEOUT_ENV: str(timeout)}) as web:
        sock = connect(web)
        started = time.monotonic()
        sock.sendall(head(100) + b"a=1")
        assert status_of(sock, timeout=timeout + 5) == 408
        waited = time.monotonic() - started
        assert timeout - 0.5 < waited < timeout + 3  # the worker looks once a second
        assert "not whole within 2 s" in web.log() or "did not arrive within 2 s" in web.log()
        assert web.command("failures ghost-db", "after")[0] == 200


def test_iamauth_web_makes_a_metrics_directory_that_does_not_exist_yet(
    moto_endpoint: str, tmp_path: Path
) -> None:
    metrics = tmp_path / "not" / "yet"
    with running(
        moto_endpoint, tmp_path, iamauth_web_command, PROMETHEUS_MULTIPROC_DIR=str(metrics)
    ) as web:
        assert web.command("failures ghost-db", "m")[0] == 200
        with urllib.request.urlopen(f"{web.base}/metrics", timeout=10) as response:
            assert b"iamauth_ack_seconds_count" in response.read()
        assert list(metrics.glob("*.db"))


def test_the_guard_refuses_before_reading_under_any_server(bot: BotUnderTest) -> None:
    """The stdlib server of the demo and tests: no gunicorn worker, the guard alone."""
    port = int(bot.url.rsplit(":", 1)[1])
    for opening, status in [
        (head(50 * MiB), 413),  # announced, never sent: Bolt would wait for it
        (head("9" * 5000), 413),  # more digits than int() takes
        (head(3, "X-Slack-Request-Timestamp: " + "1" * 5000, "X-Slack-Signature: v0=0"), 401),
    ]:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(opening + (b"a=1" if status == 401 else b""))
            assert status_of(sock, timeout=5) == status
    body = slash_command_body("failures ghost-db", bot.slack.response_url("ok"))
    assert bot.post(body, signed_headers(bot.secret, body))[0] == 200
    bot.slack.wait_for(lambda r: r.path == "/response/ok")


def test_the_cap_is_set_by_iamauth_max_body_bytes(
    runtime: Runtime, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MAX_BODY_ENV, "2048")
    with LocalServer(wsgi_app(build_app(runtime), runtime)) as server:
        assert runtime.settings.slack_signing_secret
        bot = BotUnderTest(server.url, runtime.settings.slack_signing_secret, slack, runtime)
        big = slash_command_body("failures ghost-db " + "x" * 2048, slack.response_url("big"))
        status, answer = bot.post(big, signed_headers(bot.secret, big))
        assert (status, answer) == (413, b'{"error": "the body is larger than 2048 bytes"}')
        assert bot.command("failures ghost-db").status == 200


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        (MAX_BODY_ENV, "1MB", "must be a whole number from 1024 to 67108864."),
        (REQUEST_TIMEOUT_ENV, "0", "must be from 0.1 to 300."),
    ],
)
def test_a_wrong_limit_stops_iamauth_web_with_one_line(
    tmp_path: Path, name: str, value: str, says: str
) -> None:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "s",
        "DATABASE_URL": f"sqlite:///{tmp_path}/web.db",
        name: value,
    }
    result = run_iamauth(env, "web")
    assert result.returncode == 2
    assert result.stderr == f"iamauth: {name}={value!r} {says}\n"
