"""The two entry points a newcomer meets first: `iamauth demo`, and the Procfile's gunicorn line."""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.sandbox.slack_signing import signed_headers, slash_command_body
from bot.sandbox.slack_standin import SlackStandIn
from tests.conftest import run_iamauth

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_the_real_bot_and_exits_by_itself() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLACK_"))}
    result = run_iamauth(env, "demo", timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert ">>> /iamauth failures prod-db 24h" in out
    assert "failed IAM authentications* in the log" in out
    assert "`checkout_svc`: *260*" in out
    assert "assumed-role/reporting-job-role/batch-7" in out
    assert "log export is *off* for `orders-db`" in out
    assert "There is no Aurora cluster or RDS DB instance `no-such-db`" in out
    # The RDS for PostgreSQL DB instance: its log under /aws/rds/instance/, its metrics by
    # DBInstanceIdentifier, listed with its kind.
    assert ">>> /iamauth failures billing-pg 24h" in out
    assert "assumed-role/invoice-export-role/invoice-export-fn" in out
    assert "by `DBInstanceIdentifier`" in out
    assert re.search(
        r"/billing-pg`: \*\d+\* failures in 24h · RDS DB instance · log export on", out
    )
    assert "Too many words" in out
    # The hostile user name is shown as text in the terminal, never sent as a live mention.
    assert "<!channel> *urgent*" in out
    # The digest fires during the burst and resolves after it.
    assert "IAM auth alerts\n===" in out
    assert ":rotating_light: *InvalidToken* firing:" in out
    assert "IAM auth alerts resolved" in out
    assert ":white_check_mark: *InvalidToken* resolved" in out
    # One message per episode: a person acknowledges it (the response_url's answer replaces it,
    # showing who), then the resolution edits it in place and is told in its thread.
    ack = out.index(">>> a person (U0DEMO0001) clicks Acknowledge on the prod-db digest in #C0")
    resolving = out.index(">>> digest tick once it is over")
    assert "Acknowledged by <@U0DEMO0001> at" in out[ack:resolving]
    assert (
        "    (chat.update of the digest above: edited in place)\n\nIAM auth alerts resolved\n"
        in out[resolving:]
    )
    assert "(chat.postMessage to C0DEMOALERT: reply in the digest's thread" in out[resolving:]
    # Who failed from where: the seeded checkout_svc failures come from its own addresses.
    assert ">>> /iamauth failures prod-db 1h clients" in out
    assert "*Who failed from where*" in out
    assert "`checkout_svc` · ExpiredToken — 10.0.2." in out
    assert "could not be matched" in out
    # …and what those addresses are: the seeded instances, ECS task and Lambda function.
    assert "10.0.2.8 ×98 — ECS service checkout (cluster prod)" in out
    # The refused caller: its exact resource ARN, IAM's simulated decision, the statement to add.
    assert "Resource `arn:aws:rds-db:us-east-1:123456789012:dbuser:cluster-" in out
    assert "_IAM policy simulation:_ implicit deny" in out
    assert '"Action": "rds-db:connect"' in out
    # The Home tab, opened between the tick that fires and the one that resolves.
    assert ">>> the Home tab, opened by a person while prod-db fires" in out
    assert "*1* watched clusters: *1* firing, *0* silenced, 0 ok" in out
    assert "(app-web-1, ASG app-web-asg)" in out
    assert "10.0.3.21 ×3 — Lambda billing-nightly" in out
    # The charts the bot uploaded are written where the reader can open them.
    charts = [Path(line.split("Chart written to ", 1)[1]) for line in out.splitlines()
              if "Chart written to " in line]  # fmt: skip
    assert len(charts) == 2  # under `metrics prod-db 24h`, and in the firing digest's thread
    for chart in charts:
        assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        chart.unlink()
    charts[0].parent.rmdir()
    assert 'iamauth_commands_total{command="failures",outcome="allowed"}' in out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def procfile_web_command(port: int) -> list[str]:
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web:"))
    command = line.removeprefix("web:").strip().replace("$PORT", str(port))
    words = shlex.split(command)
    assert words[0] == "gunicorn"
    return [sys.executable, "-m", "gunicorn", *words[1:]]


def iamauth_web_command(port: int) -> list[str]:
    del port  # `iamauth web` binds to PORT from the environment, as the Procfile line does
    return [sys.executable, "-m", "bot", "web", "--workers", "1", "--threads", "4"]


@pytest.mark.parametrize(
    "command", [procfile_web_command, iamauth_web_command], ids=["procfile", "iamauth-web"]
)
def test_web_process_serves_signed_commands(
    moto_endpoint: str, tmp_path: Path, command: Callable[[int], list[str]]
) -> None:
    """The Procfile's `web:` line and `iamauth web` (which execs the same gunicorn)."""
    port = free_port()
    secret = secrets.token_hex(16)
    with SlackStandIn() as slack:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": secret,
            "SLACK_API_URL": slack.api_url,
            "AWS_ENDPOINT_URL": moto_endpoint,
            "PORT": str(port),
            "DATABASE_URL": f"sqlite:///{tmp_path}/web.db",
        }
        process = subprocess.Popen(
            command(port),
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                        assert json.loads(response.read())["ok"] is True
                        break
                except OSError:
                    assert process.poll() is None, (
                        process.stdout.read().decode() if process.stdout else ""
                    )
                    assert time.monotonic() < deadline, "gunicorn did not start"
                    time.sleep(0.2)
            body = slash_command_body("failures ghost-db", slack.response_url("g"))
            request = urllib.request.Request(
                f"{base}/slack/events",
                data=body,
                headers=signed_headers(secret, body),
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                assert response.status == 200
            reply = slack.wait_for(lambda r: r.path == "/response/g", timeout=30)
            assert "There is no Aurora cluster or RDS DB instance `ghost-db`" in reply.body["text"]
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
