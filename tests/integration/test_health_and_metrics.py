"""/metrics and /healthz of the web process, read over HTTP from the real bot.

prometheus_client's default registry is one per process and every test builds another app, so the
metric tests compare readings before and after (deltas), never absolute values.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.adapters.aws.clients import AwsClients
from bot.adapters.slack.web_client import web_client
from bot.adapters.store.db import make_engine
from bot.adapters.store.leader import leader_lock_for
from bot.adapters.store.repo import Store
from bot.bootstrap import Runtime, build_app, digest_pipeline, wsgi_app
from bot.sandbox.local_server import LocalServer
from bot.sandbox.seed_aws import create_cluster
from bot.sandbox.slack_signing import signed_headers, slash_command_body
from bot.sandbox.slack_standin import SlackStandIn
from bot.scheduler import DigestJob
from bot.services.health import DIGEST_BEAT, STALE_TICKS
from tests.conftest import BotUnderTest
from tests.integration.digest_helpers import INVALID, put_per_minute
from tests.integration.test_demo_and_web import ROOT, free_port, procfile_web_command
from tests.integration.test_digests import C1, invalid_token_watch


def get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("Content-Type", "")


def sample(base: str, name: str, **labels: str) -> float:
    """One sample of GET /metrics; 0 when the series does not exist yet."""
    status, body, content_type = get(f"{base}/metrics")
    assert status == 200
    assert content_type.startswith("text/plain")
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return float(s.value)
    return 0.0


def health(base: str) -> tuple[int, dict[str, Any]]:
    status, body, _ = get(f"{base}/healthz")
    return status, json.loads(body)


def digest_job(runtime: Runtime, aws: AwsClients, channel: str = C1) -> DigestJob:
    """The clock process's job: one prod-db InvalidToken watch, the leader lock of the database."""
    watch = invalid_token_watch(channel=channel)
    runner = digest_pipeline(aws, runtime.store, [watch], clock=runtime.clock)
    return DigestJob(
        runner,
        runtime.deliverer(web_client(runtime.settings)),
        leader_lock_for(runtime.store.engine),
    )


# /metrics ----------------------------------------------------------------------------------------
def test_a_command_counts_its_outcome_its_ack_and_its_aws_calls(
    bot: BotUnderTest, aws: AwsClients
) -> None:
    create_cluster(aws.rds(), "prod-db", iam=True, exports=["iam-db-auth-error"])
    url = bot.url
    served = dict(command="metrics", outcome="allowed")
    missing = dict(command="failures", outcome="error")
    found = dict(service="rds", api="DescribeDBClusters", outcome="ok")
    not_found = dict(service="rds", api="DescribeDBClusters", outcome="DBClusterNotFoundFault")
    acks = dict(type="slash_command")
    before = {
        "served": sample(url, "iamauth_commands_total", **served),
        "missing": sample(url, "iamauth_commands_total", **missing),
        "found": sample(url, "iamauth_aws_calls_total", **found),
        "not_found": sample(url, "iamauth_aws_calls_total", **not_found),
        "acks": sample(url, "iamauth_ack_seconds_count", **acks),
        "usage": sample(url, "iamauth_commands_total", command="failures", outcome="invalid"),
    }

    assert bot.command("metrics prod-db 1h").response is not None
    reply = bot.command("failures ghost-db 1h").response
    assert reply is not None
    assert "There is no Aurora cluster or RDS DB instance `ghost-db`" in reply.body["text"]
    usage = bot.command("failures", expect_reply=False)
    assert usage.ack is not None  # a usage error is answered in the ack itself

    assert sample(url, "iamauth_commands_total", **served) == before["served"] + 1
    assert sample(url, "iamauth_commands_total", **missing) == before["missing"] + 1
    assert sample(url, "iamauth_commands_total", command="failures", outcome="invalid") == (
        before["usage"] + 1
    )
    assert sample(url, "iamauth_ack_seconds_count", **acks) == before["acks"] + 3
    assert sample(url, "iamauth_aws_calls_total", **found) >= before["found"] + 1
    assert sample(url, "iamauth_aws_calls_total", **not_found) == before["not_found"] + 1


def test_unknown_subcommands_are_counted_under_one_name(bot: BotUnderTest) -> None:
    """Typed text never becomes a label value: every unknown word is `unknown`."""
    before = sample(bot.url, "iamauth_commands_total", command="unknown", outcome="invalid")
    bot.command("frobnicate-1", expect_reply=False)
    bot.command("frobnicate-2", expect_reply=False)
    assert sample(bot.url, "iamauth_commands_total", command="unknown", outcome="invalid") == (
        before + 2
    )
    _, body, _ = get(f"{bot.url}/metrics")
    assert b"frobnicate" not in body


def test_digests_posted_and_slack_errors_are_counted(
    bot: BotUnderTest, aws: AwsClients, runtime: Runtime, slack: SlackStandIn, now: datetime
) -> None:
    url = bot.url
    refused = dict(method="chat.postMessage", error="channel_not_found")
    before_posted = sample(url, "iamauth_digests_posted_total")
    before_refused = sample(url, "iamauth_slack_errors_total", **refused)
    put_per_minute(aws, "prod-db", INVALID, now, {m: 9.0 for m in range(-10, 1)})

    slack.replies["chat.postMessage"] = lambda _: (
        200,
        {"ok": False, "error": "channel_not_found"},
        {},
    )
    assert digest_job(runtime, aws)() is True
    assert [row.status for row in runtime.store.outbox()] == ["failed"]
    assert sample(url, "iamauth_slack_errors_total", **refused) == before_refused + 1
    assert sample(url, "iamauth_digests_posted_total") == before_posted

    # That error is permanent, so the row is given up; a watch to another channel is posted.
    del slack.replies["chat.postMessage"]
    assert digest_job(runtime, aws, channel="C0ALERTS09")() is True
    assert len(slack.posted("C0ALERTS09")) == 1
    assert sample(url, "iamauth_digests_posted_total") == before_posted + 1


# /healthz ----------------------------------------------------------------------------------------
def test_healthz_reports_the_database_and_the_last_tick(
    bot: BotUnderTest, aws: AwsClients, runtime: Runtime, now: datetime
) -> None:
    status, report = health(bot.url)
    assert status == 200
    assert report["ok"] is True
    assert report["database"] == {"ok": True}
    assert report["scheduler"]["last_tick"] is None
    assert report["scheduler"]["stale"] is True
    assert report["scheduler"]["detail"] == "no tick recorded yet"

    leader = digest_job(runtime, aws)
    assert leader() is True
    status, report = health(bot.url)
    assert status == 200
    assert report["scheduler"]["last_tick"] == now.isoformat()
    assert report["scheduler"]["age_seconds"] == 0
    assert report["scheduler"]["stale"] is False
    assert "0 digest(s) posted" in report["scheduler"]["detail"]
    assert f"pid {os.getpid()}" in report["scheduler"]["detail"]

    # A standby (the leader holds the lock) leaves the heartbeat alone.
    runtime.store.beat(DIGEST_BEAT, now, "marker")
    assert digest_job(runtime, aws)() is False
    assert runtime.store.last_beat(DIGEST_BEAT) == (now, "marker")
    leader.lock.release()


def test_a_stale_scheduler_is_reported_but_the_web_process_stays_healthy(
    bot: BotUnderTest, runtime: Runtime, now: datetime
) -> None:
    tick = runtime.settings.tick_seconds
    long_ago = now - timedelta(seconds=(STALE_TICKS + 1) * tick)
    runtime.store.beat(DIGEST_BEAT, long_ago, "pid 1: 0 digest(s) posted")
    status, report = health(bot.url)
    assert status == 200
    assert report["ok"] is True
    assert report["scheduler"]["stale"] is True
    assert report["scheduler"]["age_seconds"] == (STALE_TICKS + 1) * tick


def test_healthz_is_503_when_the_database_cannot_be_reached(runtime: Runtime) -> None:
    # A real PostgreSQL URL on a port where nothing listens: connecting is refused.
    unreachable = f"postgresql://iamauth:secret-pw@127.0.0.1:{free_port()}/iamauth"
    broken = replace(runtime, store=Store(make_engine(unreachable)))
    with LocalServer(wsgi_app(build_app(broken), broken)) as server:
        status, report = health(server.url)
    assert status == 503
    assert report["ok"] is False
    assert report["database"]["ok"] is False
    assert report["database"]["error"] == "OperationalError"
    assert report["scheduler"]["last_tick"] is None
    assert "secret-pw" not in json.dumps(report)


# gunicorn with several workers -------------------------------------------------------------------
@dataclass
class Gunicorn:
    base: str
    slack: SlackStandIn
    secret: str
    process: subprocess.Popen[bytes]
    log: Path

    def command(self, text: str, name: str) -> None:
        body = slash_command_body(text, self.slack.response_url(name))
        request = urllib.request.Request(
            f"{self.base}/slack/events",
            data=body,
            headers=signed_headers(self.secret, body),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        self.slack.wait_for(lambda r: r.path == f"/response/{name}", timeout=30)

    def stop(self) -> list[str]:
        """Stop gunicorn; its log lines."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        return [line for line in self.log.read_text().splitlines() if line.strip()]


@pytest.fixture
def gunicorn_web(moto_endpoint: str, tmp_path: Path) -> Iterator[Gunicorn]:
    """The Procfile's web line (two workers), with a stale, unreadable metrics file left in the
    operator's PROMETHEUS_MULTIPROC_DIR: it must be cleared at start, or /metrics would fail."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left over from an earlier run")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "IAMAUTH_LOG_FORMAT"}
    with SlackStandIn() as slack, (tmp_path / "gunicorn.log").open("wb") as log:
        env |= {
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
            "SLACK_API_URL": slack.api_url,
            "AWS_ENDPOINT_URL": moto_endpoint,
            "DATABASE_URL": f"sqlite:///{tmp_path}/iamauth.db",
            "PORT": str(port),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        }
        process = subprocess.Popen(
            procfile_web_command(port), env=env, cwd=ROOT, stdout=log, stderr=log
        )
        web = Gunicorn(
            f"http://127.0.0.1:{port}", slack, env["SLACK_SIGNING_SECRET"], process, Path(log.name)
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if health(web.base)[0] == 200:
                        break
                except OSError:
                    assert process.poll() is None, web.log.read_text()[-3000:]
                    assert time.monotonic() < deadline, "gunicorn did not start"
                    time.sleep(0.2)
            yield web
        finally:
            web.stop()


def test_gunicorn_workers_share_metrics_and_log_json_lines(
    gunicorn_web: Gunicorn, tmp_path: Path
) -> None:
    commands = 6
    for n in range(commands):
        gunicorn_web.command(f"failures ghost-{n}", f"g{n}")
    for _ in range(6):  # whichever worker answers, it sums every worker's counts
        assert (
            sample(gunicorn_web.base, "iamauth_commands_total", command="failures", outcome="error")
            == commands
        )
    assert list((tmp_path / "metrics").glob("counter_*.db"))  # written by the workers

    lines = gunicorn_web.stop()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert all(datetime.fromisoformat(r["time"]).utcoffset() == timedelta(0) for r in records)
    assert any(
        r["logger"] == "gunicorn.error" and "Booting worker" in r["message"] for r in records
    )
    served = [r for r in records if r.get("command") == "failures"]
    assert len(served) == commands
    assert len({r["request_id"] for r in served}) == commands


def test_the_clock_process_beats_serves_metrics_and_logs_json(
    moto_endpoint: str, tmp_path: Path
) -> None:
    """`iamauth clock` (no web server): its tick reaches the database /healthz reads, and its
    counters are served on IAMAUTH_METRICS_PORT."""
    port, database = free_port(), f"sqlite:///{tmp_path}/iamauth.db"
    with SlackStandIn() as slack, (tmp_path / "clock.log").open("wb") as log:
        env = {k: v for k, v in os.environ.items() if k != "IAMAUTH_LOG_FORMAT"} | {
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_API_URL": slack.api_url,
            "AWS_ENDPOINT_URL": moto_endpoint,
            "DATABASE_URL": database,
            "IAMAUTH_METRICS_PORT": str(port),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "clock"], env=env, cwd=ROOT, stdout=log, stderr=log
        )
        try:
            store = Store.open(database)
            deadline = time.monotonic() + 30
            while store.last_beat(DIGEST_BEAT) is None:
                assert process.poll() is None, (tmp_path / "clock.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "the clock did not tick"
                time.sleep(0.2)
            assert f"pid {process.pid}" in store.last_beat(DIGEST_BEAT)[1]  # type: ignore[index]
            assert sample(f"http://127.0.0.1:{port}", "iamauth_digests_posted_total") == 0
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    records = [json.loads(line) for line in (tmp_path / "clock.log").read_text().splitlines()]
    assert any(r["message"] == f"metrics served on port {port} at /metrics" for r in records)
