"""Two web workers and two clock processes on one PostgreSQL: commands answered by both workers,
each digest posted once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from bot.adapters.aws.clients import AwsClients
from bot.sandbox.seed_aws import create_cluster
from bot.sandbox.slack_signing import signed_headers, slash_command_body
from bot.sandbox.slack_standin import SlackStandIn
from tests.integration.digest_helpers import INVALID, put_per_minute
from tests.integration.test_demo_and_web import free_port, procfile_web_command
from tests.integration.test_store_and_leader import PG_URL, reset_postgres, wait_until


def test_two_web_workers_and_two_clocks_share_one_postgres(
    aws: AwsClients, moto_endpoint: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    reset_postgres().dispose()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    for cluster in ("alpha-db", "beta-db", "gamma-db"):
        create_cluster(aws.rds(), cluster, iam=True, exports=[], instances=1)
        put_per_minute(aws, cluster, INVALID, now, {m: 4.0 for m in range(-20, 30)})
    config = tmp_path / "iamauth.toml"
    config.write_text('[scheduler]\ninterval_seconds = 1\nmetrics_delay = "1m"\n')
    port, secret = free_port(), "a-signing-secret-for-the-test"
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": PG_URL,
        "IAMAUTH_CONFIG": str(config),
        "PORT": str(port),
    }
    root = Path(__file__).resolve().parents[2]
    processes = [
        subprocess.Popen(procfile_web_command(port), env=env, cwd=root, stderr=subprocess.DEVNULL),
        *(
            subprocess.Popen(
                [sys.executable, "-m", "bot", "clock"], env=env, stderr=subprocess.DEVNULL
            )
            for _ in range(2)
        ),
    ]
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    return bool(json.loads(response.read())["ok"])
            except OSError:
                return False

        wait_until(healthy)

        def pid(_: int) -> int:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
                return int(json.loads(response.read())["pid"])

        seen: set[int] = set()

        def both_workers_serve() -> bool:
            with ThreadPoolExecutor(32) as pool:
                seen.update(pool.map(pid, range(100)))
            return len(seen) == 2

        wait_until(both_workers_serve)  # the second worker may still be starting at first

        def watch(n: int) -> int:
            cluster = ("alpha-db", "beta-db", "gamma-db")[n]
            body = slash_command_body(
                f"watch {cluster} invalid_token>=5/5m",
                slack.response_url(f"w{n}"),
                channel_id=f"C0ALERTS0{n}",
            )
            request = urllib.request.Request(
                f"{base}/slack/events",
                data=body,
                headers=signed_headers(secret, body),
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)

        with ThreadPoolExecutor(3) as pool:
            assert list(pool.map(watch, range(3))) == [200, 200, 200]
        for n in range(3):
            path = f"/response/w{n}"
            reply = slack.wait_for(lambda r: r.path == path)  # noqa: B023 - called at once
            assert "Now watching" in reply.body["text"]
        channels = [f"C0ALERTS0{n}" for n in range(3)]
        wait_until(lambda: all(slack.posted(c) for c in channels))
        time.sleep(4)  # several more ticks of both clocks
        assert [len(slack.posted(c)) for c in channels] == [1, 1, 1]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
