"""Benchmark (d): `iamauth failures` end to end against moto's server, versus a bare boto3
FilterLogEvents loop over the same data, as a ratio.

    python -m benchmarks.failures_vs_boto3 [--events 50000] [--pairs 5]

Both read every event of the window through the same HTTP endpoint; iamauth also describes the
cluster, fetches the seven metrics, parses and counts every line. The QueryService is the one
bootstrap builds (`Runtime.build` from the settings), with `[limits] cache_seconds = 0` in its
config file: every timed run is a real read, never the 30 s answer cache. The runs are paired (one
of each, the order alternating from pair to pair, so both see the same machine) and reported as
min/median/max; the verdict is the ratio of the medians. Goal: ratio <= 1.2; exit 1 when missed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.adapters.aws.clients import AwsClients, AwsSettings
from bot.bootstrap import Runtime
from bot.config import load_settings
from bot.domain.cluster import iam_log_group
from bot.sandbox.aws_emulator import REGION, embedded_aws
from bot.sandbox.seed_aws import Failure, create_cluster, put_failures

GOAL = 1.2


def timed(work: Callable[[], int], expected: int) -> float:
    started = time.perf_counter()
    got = work()
    seconds = time.perf_counter() - started
    if got != expected:  # a run that read less than everything is not a measurement
        raise SystemExit(f"read {got} events, not {expected}")
    return seconds


def spread(values: list[float]) -> str:
    return f"min {min(values):.2f}, median {statistics.median(values):.2f}, max {max(values):.2f}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")
    with embedded_aws() as endpoint, tempfile.TemporaryDirectory() as tmp:
        aws = AwsClients(AwsSettings(region=REGION, endpoint_url=endpoint))
        now = datetime.now(UTC).replace(microsecond=0)
        rng = random.Random(3)
        users = [f"svc_{i}" for i in range(40)]
        codes = ["InvalidToken", "ExpiredToken", "NotAuthorized", "ThrottlingException"]
        failures = [
            Failure(
                now - timedelta(seconds=rng.uniform(1, 3500)), rng.choice(users), rng.choice(codes)
            )
            for _ in range(args.events)
        ]
        create_cluster(aws.rds(), "bench-db", iam=True, exports=["iam-db-auth-error"], instances=3)
        put_failures(aws.logs(), "bench-db", failures, streams=3)

        config = Path(tmp, "iamauth.toml")
        config.write_text("[limits]\ncache_seconds = 0\n")
        settings = load_settings(
            {
                "IAMAUTH_CONFIG": str(config),
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_REGION": REGION,
                "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            }
        )
        assert settings.cache_seconds == 0
        service = Runtime.build(settings, clock=lambda: now).queries
        logs = aws.logs()

        def bare() -> int:
            kwargs = {
                "logGroupName": iam_log_group("bench-db"),
                "startTime": int((now - timedelta(hours=1)).timestamp() * 1000),
                "endTime": int(now.timestamp() * 1000) - 1,
            }
            count = 0
            while True:
                page = logs.filter_log_events(**kwargs)  # type: ignore[arg-type]
                count += len(page.get("events", []))
                if not page.get("nextToken"):
                    return count
                kwargs["nextToken"] = page["nextToken"]

        answers: list[object] = []

        def iamauth() -> int:
            report = service.failures("bench-db", timedelta(hours=1))
            if any(report is answer for answer in answers):  # the cache's object, not a read
                raise SystemExit("an answer came from the answer cache: nothing was measured")
            answers.append(report)
            assert report.summary is not None
            return report.summary.total

        timed(bare, args.events), timed(iamauth, args.events)  # warm-up: clients, connections
        t_bare: list[float] = []
        t_iamauth: list[float] = []
        for pair in range(args.pairs):
            order = [(t_iamauth, iamauth), (t_bare, bare)]
            for times, work in order if pair % 2 == 0 else order[::-1]:
                times.append(timed(work, args.events))
    ratio = statistics.median(t_iamauth) / statistics.median(t_bare)
    per_pair = [i / b for i, b in zip(t_iamauth, t_bare, strict=True)]
    print(f"events: {args.events:,}; {args.pairs} pairs, answer cache off")
    print(f"bare boto3 FilterLogEvents loop: {spread(t_bare)} s")
    print(f"iamauth failures end to end:     {spread(t_iamauth)} s")
    print(f"ratio per pair: {spread(per_pair)}")
    met = ratio <= GOAL
    print(f"ratio of medians: {ratio:.3f}  (goal <= {GOAL}): {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
