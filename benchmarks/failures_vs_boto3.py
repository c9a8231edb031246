"""Benchmark (d): `iamauth failures` end to end against moto's server, versus a bare boto3
FilterLogEvents loop over the same data, as a ratio.

    python -m benchmarks.failures_vs_boto3 [--events 50000]

Both read every event of the window through the same HTTP endpoint; iamauth also describes the
cluster, fetches the seven metrics, parses and counts every line. Best of 3 runs each.
Goal: ratio <= 1.2.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from bot.adapters.aws.clients import AwsClients, AwsSettings
from bot.domain.cluster import iam_log_group
from bot.sandbox.aws_emulator import REGION, embedded_aws
from bot.sandbox.seed_aws import Failure, create_cluster, put_failures
from bot.services.queries import QueryService


def best_of(runs: int, work: object) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()
    with embedded_aws() as endpoint:
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
        service = QueryService(aws, clock=lambda: now)
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

        def iamauth() -> int:
            report = service.failures("bench-db", timedelta(hours=1))
            assert report.summary is not None
            return report.summary.total

        assert bare() == iamauth() == args.events
        t_bare = best_of(3, bare)
        t_iamauth = best_of(3, iamauth)
    print(f"events: {args.events:,}")
    print(f"bare boto3 FilterLogEvents loop: {t_bare:.2f} s")
    print(f"iamauth failures end to end:     {t_iamauth:.2f} s")
    print(f"ratio: {t_iamauth / t_bare:.2f}  (goal <= 1.2)")


if __name__ == "__main__":
    main()
