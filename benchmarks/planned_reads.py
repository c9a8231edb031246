"""Benchmark (h): a capped log read planned from the metric counts, against moto's server.

    python -m benchmarks.planned_reads [--events 1000001] [--span-hours 24] [--since-hours 24]

Seeds `--events` failures spread evenly over the last `--span-hours` in two streams (PutLogEvents
batches of 10,000) and their per-minute IamDbAuth* metrics (the newest 3 minutes left out, as
CloudWatch's lag does), then reads the newest 100,000 (the default event cap) of the last
`--since-hours` the way `iamauth failures` does (`read_log_summary`): once with the counts of the
report's own period (GetMetricData, 5 minutes for 24 h) and once with none. Each read is counted
at the client: FilterLogEvents calls, events returned, events returned more than once.

Goal: every read keeps exactly the newest 100,000, reads no event twice and reads at most 1.1× the
events it keeps; exit 1 when missed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.adapters.aws.clients import AwsClients, AwsSettings
from bot.adapters.aws.cloudwatch_logs import DEFAULT_EVENT_CAP
from bot.adapters.aws.cloudwatch_metrics import cluster_metrics
from bot.domain.cluster import iam_log_group
from bot.domain.read_plan import EventCounts, counts_from_report
from bot.domain.window import Window
from bot.sandbox.aws_emulator import REGION, embedded_aws
from bot.sandbox.seed_aws import Failure, create_cluster, format_line, put_metrics
from bot.services.queries import read_log_summary

CLUSTER = "bench-db"
BATCH = 10_000
GOAL = 1.1  # events read per event kept, at most


class Counted:
    """FilterLogEvents calls through one client, and how often each event came back."""

    def __init__(self, aws: AwsClients) -> None:
        self.calls = 0
        self.ids: Counter[str] = Counter()
        aws.logs().meta.events.register("after-call.logs.FilterLogEvents", self._count)

    def _count(self, parsed: dict[str, Any], **_: Any) -> None:
        self.calls += 1
        self.ids.update(f"{e['logStreamName']}/{e['eventId']}" for e in parsed.get("events", []))

    def reset(self) -> None:
        self.calls, self.ids = 0, Counter()


def seed(aws: AwsClients, now: datetime, events: int, span: timedelta) -> list[Failure]:
    create_cluster(aws.rds(), CLUSTER, iam=True, exports=["iam-db-auth-error"], instances=2)
    start = now - span
    step = span / events
    failures = [Failure(start + step * i, f"svc_{i % 40}", "InvalidToken") for i in range(events)]
    logs, group = aws.logs(), iam_log_group(CLUSTER)
    logs.create_log_group(logGroupName=group)
    for n in range(2):
        stream = f"{CLUSTER}-{n + 1}"
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        mine = failures[n::2]
        for offset in range(0, len(mine), BATCH):
            logs.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[
                    {"timestamp": int(f.time.timestamp() * 1000), "message": format_line(f)}
                    for f in mine[offset : offset + BATCH]
                ],
            )
    put_metrics(aws.cloudwatch(), CLUSTER, failures, 0, start, now - timedelta(minutes=3))
    return failures


def measure(
    aws: AwsClients, counted: Counted, window: Window, counts: EventCounts | None, newest: list[int]
) -> tuple[str, bool]:
    counted.reset()
    started = time.perf_counter()
    summary = read_log_summary(
        aws, CLUSTER, window, DEFAULT_EVENT_CAP, keep_events=True, counts=counts
    )
    seconds = time.perf_counter() - started
    assert summary is not None
    assert summary.events is not None
    kept = sorted(e.ms for e in summary.events)
    read = sum(counted.ids.values())
    twice = sum(n - 1 for n in counted.ids.values() if n > 1)
    exact = kept == newest
    ok = exact and twice == 0 and read <= GOAL * max(len(kept), 1)
    line = (
        f"kept {len(kept):,} (exactly the newest: {'yes' if exact else 'NO'}), "
        f"read {read:,} ({read / max(len(kept), 1):.2f}x), read twice {twice:,}, "
        f"FilterLogEvents calls {counted.calls}, {seconds:.1f} s, "
        f"truncated {summary.truncated}, covered from {summary.covered_from}"
    )
    return line, ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_001)
    parser.add_argument("--span-hours", type=float, default=24.0)
    parser.add_argument("--since-hours", type=float, default=24.0)
    args = parser.parse_args()
    with embedded_aws() as endpoint:
        aws = AwsClients(AwsSettings(region=REGION, endpoint_url=endpoint))
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        started = time.perf_counter()
        failures = seed(aws, now, args.events, timedelta(hours=args.span_hours))
        print(
            f"seeded {len(failures):,} events over {args.span_hours} h in {time.perf_counter() - started:.0f} s"
        )
        window = Window(now - timedelta(hours=args.since_hours), now)
        inside = [int(f.time.timestamp() * 1000) for f in failures if window.contains(f.time)]
        newest = inside[-DEFAULT_EVENT_CAP:]
        counted = Counted(aws)
        report = cluster_metrics(aws.cloudwatch(), CLUSTER, [], window)
        counts = counts_from_report(report, window.end)  # as `iamauth failures` does
        print(
            f"window {window.describe()}: {len(inside):,} events; metric period {report.period} s"
        )
        results = []
        for name, given in (("with counts", counts), ("without counts", None)):
            line, ok = measure(aws, counted, window, given, newest)
            print(f"{name:>15}: {line}")
            results.append(ok)
    met = all(results)
    print(
        f"goal (exactly the newest, none read twice, read <= {GOAL}x kept): {'met' if met else 'MISSED'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
