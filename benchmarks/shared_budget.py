"""Benchmark (g): one log-read budget for the whole deployment.

3 web workers (gunicorn, as the Procfile runs them) and 1 clock on one PostgreSQL answer 30
concurrent `/iamauth failures <cluster> <days>` commands over big windows (each reads the log in
many FilterLogEvents calls: more events than `event_cap`, so it reads the newest slices), while
the clock watches the same clusters. Every AWS call passes an HTTP proxy that notes when it
arrives: the FilterLogEvents calls of the account and region, all processes together, must never
number more than the budget (`[limits] logs_rate`) in any one-second span.

    python -m benchmarks.shared_budget [--rate 4] [--commands 30]

PostgreSQL: IAMAUTH_TEST_PG (default postgresql://postgres@127.0.0.1:5432/test); its iamauth
tables are emptied first. Exits 1 on a miss: a busier second than the budget, or a command left
unanswered. `--sqlite` runs the same deployment on SQLite, where each process keeps the budget
alone: together they go over it, and the run says so (the check can fail).
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from benchmarks.aws_proxy import aws_in_child
from benchmarks.call_times import TimedProxy, busiest_second, shortest_span
from bot.adapters.aws.clients import AwsClients, AwsSettings
from bot.adapters.aws.rate_budget import DEFAULT_INSIGHTS_RATE
from bot.adapters.store.db import make_engine, migrate
from bot.adapters.store.models import Base
from bot.sandbox.aws_emulator import REGION
from bot.sandbox.seed_aws import Failure, create_cluster, put_failures, put_metrics
from bot.sandbox.slack_signing import signed_headers, slash_command_body
from bot.sandbox.slack_standin import SlackStandIn

ROOT = Path(__file__).resolve().parents[1]
CLUSTERS = 10
FAILURES_PER_CLUSTER = 3_000
WINDOWS = ("6d", "5d", "4d")
WEB_WORKERS = 3
SECRET = "a-signing-secret-for-the-benchmark"  # noqa: S105 - the stand-in's
INSIGHTS = ("StartQuery", "GetQueryResults", "StopQuery")
INSIGHTS_RATE = DEFAULT_INSIGHTS_RATE  # not set in the config: the default


def reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        for table in [*(t.name for t in reversed(Base.metadata.sorted_tables)), "alembic_version"]:
            connection.execute(text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    migrate(engine)
    engine.dispose()


def seed(endpoint: str, now: datetime) -> list[str]:
    aws = AwsClients(AwsSettings(region=REGION, endpoint_url=endpoint))
    rng = random.Random(7)
    clusters = [f"db-{n:02d}" for n in range(CLUSTERS)]
    start = now - timedelta(days=6)
    for cluster in clusters:
        create_cluster(aws.rds(), cluster, iam=True, exports=["iam-db-auth-error"], instances=1)
        failures = sorted(
            (
                Failure(
                    start + timedelta(seconds=rng.uniform(0, 6 * 86400)),
                    rng.choice(["app_user", "reporting", "checkout_svc"]),
                    rng.choice(["ExpiredToken", "InvalidToken"]),
                )
                for _ in range(FAILURES_PER_CLUSTER)
            ),
            key=lambda f: f.time,
        )
        put_failures(aws.logs(), cluster, failures)
        put_metrics(aws.cloudwatch(), cluster, failures, 5, start, now, step_minutes=60)
    return clusters


def config_file(directory: Path, clusters: list[str], rate: float) -> Path:
    watches = "".join(
        f'[[watch]]\ncluster = "{c}"\nchannel = "C0ALERTS{n:03d}"\n'
        'invalid_token = { count = 1, window = "1h" }\n\n'
        for n, c in enumerate(clusters)
    )
    path = directory / "iamauth.toml"
    path.write_text(
        f'[limits]\nlogs_rate = {rate}\nevent_cap = 200\nuser_rate = "off"\n\n'
        '[scheduler]\ninterval_seconds = 5\nmetrics_delay = "1m"\n\n' + watches
    )
    return path


def web_command(port: int) -> list[str]:
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web:"))
    words = shlex.split(line.removeprefix("web:").strip().replace("$PORT", str(port)))
    words[words.index("--workers") + 1] = str(WEB_WORKERS)
    return [sys.executable, "-m", "gunicorn", *words[1:]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):  # noqa: S310 - local
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the web workers did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=4.0, help="logs_rate, calls per second")
    parser.add_argument("--commands", type=int, default=30)
    parser.add_argument(
        "--sqlite",
        action="store_true",
        help="run the deployment on SQLite: each process keeps its own budget (expected to miss)",
    )
    args = parser.parse_args()
    pg_url = os.environ.get("IAMAUTH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
    if not args.sqlite:
        reset_postgres(pg_url)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with (
        aws_in_child() as (endpoint, _),
        SlackStandIn() as slack,
        tempfile.TemporaryDirectory() as directory,
    ):
        clusters = seed(endpoint, now)
        proxy = TimedProxy(endpoint)
        port = free_port()
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": proxy.url,
            "SLACK_BOT_TOKEN": "xoxb-benchmark",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": f"sqlite:///{directory}/iamauth.db" if args.sqlite else pg_url,
            "IAMAUTH_CONFIG": str(config_file(Path(directory), clusters, args.rate)),
            "PORT": str(port),
        }
        logs, clock_log = Path(directory) / "web.log", Path(directory) / "clock.log"
        processes = [
            subprocess.Popen(  # noqa: S603 - our own interpreter, fixed code
                web_command(port), env=env, cwd=ROOT, stderr=logs.open("w")
            ),
            subprocess.Popen(
                [sys.executable, "-m", "bot", "clock"],
                env=env,
                cwd=ROOT,
                stderr=clock_log.open("w"),
            ),
        ]
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base)
            started = time.monotonic()

            def ask(n: int) -> int:
                command = f"failures {clusters[n % CLUSTERS]} {WINDOWS[n // CLUSTERS % 3]}"
                body = slash_command_body(command, slack.response_url(f"r{n}"), user_id=f"U{n:08d}")
                request = urllib.request.Request(  # noqa: S310 - local
                    f"{base}/slack/events", data=body, headers=signed_headers(SECRET, body)
                )
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    return int(response.status)

            with ThreadPoolExecutor(args.commands) as pool:
                statuses = list(pool.map(ask, range(args.commands)))
            answered = 0
            for n in range(args.commands):
                path = f"/response/r{n}"
                try:
                    slack.wait_for(lambda r: r.path == path, timeout=900)  # noqa: B023 - at once
                    answered += 1
                except TimeoutError:
                    break
            elapsed = time.monotonic() - started
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
            proxy.stop()
            alone = sum(
                path.read_text(errors="replace").count("this process counts alone")
                for path in (logs, clock_log)
            )
    reads = proxy.of("FilterLogEvents")
    insights = [a for api in INSIGHTS for a in proxy.of(api)]
    busiest = busiest_second(reads)  # one account, one region
    busiest_insights = busiest_second(insights)
    span = (max(a.at for a in reads) - min(a.at for a in reads)) if reads else 0.0
    database = "one SQLite file" if args.sqlite else "one PostgreSQL"
    print(f"processes: {WEB_WORKERS} web workers + 1 clock, {database}")
    print(f"commands: {args.commands} concurrent, acked {statuses.count(200)}, answered {answered}")
    print(f"budget: logs_rate {args.rate:g}/s per (account, region)")
    print(
        f"FilterLogEvents: {len(reads)} calls over {span:.1f} s "
        f"({len(reads) / span if span else 0:.2f}/s on average); busiest second {busiest}"
    )
    print(
        f"Logs Insights calls: {len(insights)}; busiest second {busiest_insights} "
        f"(budget insights_rate {INSIGHTS_RATE:g}/s)"
    )
    for name, calls, budget in (
        ("FilterLogEvents", reads, args.rate),
        ("Logs Insights", insights, INSIGHTS_RATE),
    ):
        shortest = shortest_span(calls, int(budget) + 1)
        if shortest is not None:
            print(f"{name}: the shortest time holding {int(budget) + 1} calls: {shortest:.3f} s")
    print(f"processes that lost the shared budget (PostgreSQL errors): {alone}")
    print(f"all answered after {elapsed:.1f} s")
    missed = (
        busiest > args.rate
        or busiest_insights > INSIGHTS_RATE
        or answered < args.commands
        or statuses.count(200) < args.commands
    )
    print("MISS" if missed else "OK: never above the budget")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
