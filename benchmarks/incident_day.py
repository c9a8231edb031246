"""Benchmark (f): `iamauth failures <cluster> 24h` on a simulated incident day of 1,000 failures/s
(86.4 M lines), exact per-user counts and the wall time to answer.

    python -m benchmarks.incident_day [--runs 3] [--scan-gb-per-s 1.0] [--exact-read-seconds 20]

AWS is simulated at the boto3-client boundary (benchmarks/incident_day_aws.py: FilterLogEvents
pages, Logs Insights run times, request quotas, GetMetricData sums, all from one lazily generated
day), injected through AwsClients as the tests inject their fakes. The product's own log-read
budget (RateBudget, as bootstrap builds it) is registered on the simulated logs client.

Each run is the real path: a new QueryService with the answer cache off, `failures(cluster,
24h)` from DescribeDBClusters to the summary. The answer (failures_json) is checked against the
day's truth: total, unparsed, by_user, by_code, by_caller, first/last seen, equal exactly. Each run
is paired with one with Logs Insights off (`exact_read_seconds = 0`, the answer before Insights),
order alternating, to show that answer's error and time.

Goal: every Insights run exact and the median wall time < 60 s; exit 1 otherwise. To see it fail,
pass `--exact-read-seconds 0` (the main runs then answer from FilterLogEvents alone).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from benchmarks.incident_day_aws import (
    ACCOUNT,
    CLUSTER,
    DAY_MS,
    REGION,
    Day,
    Simulated,
    SimulatedCloudWatch,
    SimulatedLogs,
    SimulatedRds,
    Truth,
    insights_fields,
    self_check,
    truth,
)
from bot.adapters.aws.clients import AwsClients, AwsSettings
from bot.adapters.aws.cloudwatch_metrics import resource_metrics
from bot.adapters.aws.rate_budget import RateBudget
from bot.adapters.aws.rds import describe_resource
from bot.domain.insights_query import DEFAULT_EXACT_READ_SECONDS
from bot.domain.read_plan import epoch_ms
from bot.domain.window import Window
from bot.ops.rate_slots import LocalSlots
from bot.services.exact_counts import ExactOptions
from bot.services.queries import QueryService
from bot.views.json_reports import failures_json, iso

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_rds import RDSClient

GOAL_SECONDS = 60.0
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DURATION = timedelta(hours=24)


class SimulatedClients(AwsClients):
    """AwsClients whose logs, cloudwatch and rds clients are the simulation's."""

    def __init__(self, sim: Simulated, budget: RateBudget) -> None:
        super().__init__(AwsSettings(region=REGION, budget=budget))
        self.sim_logs = SimulatedLogs(sim)
        self.sim_cloudwatch = SimulatedCloudWatch(sim, epoch_ms(NOW))
        self.sim_rds = SimulatedRds(sim)
        budget.register(self.sim_logs.meta.events, self.place)

    def place(self) -> str:
        return f"{ACCOUNT}/{REGION}"

    def logs(self) -> CloudWatchLogsClient:
        return cast("CloudWatchLogsClient", self.sim_logs)

    def cloudwatch(self) -> CloudWatchClient:
        return cast("CloudWatchClient", self.sim_cloudwatch)

    def rds(self) -> RDSClient:
        return cast("RDSClient", self.sim_rds)


@dataclass
class Run:
    seconds: float
    data: dict[str, Any]
    sim: Simulated


def run_once(day: Day, scan_rate: float, read_seconds: float) -> Run:
    sim = Simulated(day, scan_rate)
    aws = SimulatedClients(sim, RateBudget(LocalSlots()))
    service = QueryService(
        aws,
        clock=lambda: NOW,
        cache_seconds=0,
        exact=ExactOptions(read_seconds=read_seconds),
    )
    started = time.perf_counter()
    report = service.failures(CLUSTER, DURATION)
    seconds = time.perf_counter() - started
    assert report.summary is not None, "the simulated log group answered nothing"
    data = failures_json(CLUSTER, report.window, report.summary, path=report.path)
    data["insights_error"] = report.insights_error
    return Run(seconds, data, sim)


def differences(data: dict[str, Any], true: Truth) -> list[str]:
    """How the answer differs from the day's truth; [] when exact."""
    expected: dict[str, Any] = {
        "total": true.parsed,
        "unparsed": true.events - true.parsed,
        "by_user": dict(true.by_user),
        "by_code": dict(true.by_code),
        "by_caller": dict(true.by_caller),
        "first_seen": iso(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=true.first_ms)),
        "last_seen": iso(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=true.last_ms)),
        "truncated": False,
    }
    wrong = []
    for key, want in expected.items():
        got = data.get(key)
        if got == want:
            continue
        if isinstance(want, dict) and isinstance(got, dict):
            keys = set(want) | set(got)
            off = sorted(k for k in keys if want.get(k) != got.get(k))
            wrong.append(f"{key}: {len(off)} of {len(want)} keys differ, e.g. {off[:3]!r}")
        else:
            wrong.append(f"{key}: {got!r}, truth {want!r}")
    return wrong


def describe_calls(sim: Simulated) -> str:
    calls = ", ".join(f"{api} {n}" for api, n in sorted(sim.calls.items()))
    throttled = sim.throttled()
    return f"{calls}; throttled {throttled or 'none'}; LimitExceeded {sim.limit_refusals}"


def summarise(label: str, seconds: list[float]) -> str:
    return (
        f"{label}: min {min(seconds):.1f} s, median {statistics.median(seconds):.1f} s, "
        f"max {max(seconds):.1f} s over {len(seconds)} runs"
    )


def describe_day(day: Day, true: Truth) -> None:
    groups = {
        tuple(sorted((insights_fields(day.lines[i].message(0)) or {}).items()))
        for hour in day.hours
        for i in hour.positions
    }
    size = day.bytes_in(day.start_ms, day.end_ms)
    print(
        f"day: {true.events:,} events ({true.parsed:,} parsed, {true.events - true.parsed:,} "
        f"unreadable), {size / 1e9:.1f} GB; {len(true.by_user)} users, "
        f"{len(true.by_caller)} callers, {len(day.lines)} distinct lines, {len(groups)} "
        "distinct Insights groups in the whole day"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--scan-gb-per-s",
        type=float,
        default=1.0,
        help="Logs Insights scan rate per query (no AWS figure is published; see the docs)",
    )
    parser.add_argument(
        "--exact-read-seconds",
        type=float,
        default=float(DEFAULT_EXACT_READ_SECONDS),
        help="the product's [limits] exact_read_seconds for the main runs (0: Insights off)",
    )
    parser.add_argument("--users", type=int, default=300, help="ordinary users of the day")
    parser.add_argument(
        "--slots",
        type=int,
        default=2_400,
        help="lines in each hour's common cycle (more: more distinct groups in every slice)",
    )
    args = parser.parse_args(argv)
    scan_rate = args.scan_gb_per_s * 1e9

    day = Day(start_ms=epoch_ms(NOW - DURATION), users=args.users, slots=args.slots)
    assert day.end_ms - day.start_ms == DAY_MS
    self_check(day, random.Random(7))
    true = truth(day, day.start_ms, day.end_ms)
    describe_day(day, true)
    # The simulator's own work for GetMetricData (per-period sums), done once, outside the timing.
    warm = SimulatedClients(Simulated(day, scan_rate), RateBudget(LocalSlots()))
    info = describe_resource(warm.rds(), CLUSTER)
    resource_metrics(warm.cloudwatch(), info, Window.ending_at(NOW, DURATION))
    print(
        f"model: Logs Insights {args.scan_gb_per_s:g} GB/s per query + 1 s; quotas "
        "FilterLogEvents 5/s, StartQuery/GetQueryResults 10/s; main runs exact_read_seconds "
        f"{args.exact_read_seconds:g}"
    )

    main_runs: list[Run] = []
    off_runs: list[Run] = []
    for n in range(args.runs):
        order = [(args.exact_read_seconds, main_runs), (0.0, off_runs)]
        for read_seconds, into in order if n % 2 == 0 else order[::-1]:
            run = run_once(day, scan_rate, read_seconds)
            into.append(run)
            label = "main" if into is main_runs else "insights off"
            wrong = differences(run.data, true)
            print(
                f"  run {n + 1} {label:12s} {run.seconds:6.1f} s  path {run.data['path']:8s} "
                f"{'EXACT' if not wrong else 'NOT EXACT'}; {describe_calls(run.sim)}; "
                f"queries {dict(run.sim.starts) or '-'}"
                + (
                    f", longest modelled query {max(run.sim.query_seconds):.1f} s"
                    if run.sim.query_seconds
                    else ""
                )
                + f"; FilterLogEvents returned {run.sim.events_returned:,} events"
            )
            if run.data.get("insights_error"):
                print(f"    Logs Insights gave up: {run.data['insights_error']}")

    off = off_runs[-1].data
    lost = set(true.by_user) - set(off["by_user"])
    counted_wrong = sum(1 for u in true.by_user if off["by_user"].get(u, 0) != true.by_user[u])
    print(
        f"insights off (the answer before): total {off['total']:,} of {true.parsed:,} "
        f"({off['total'] / true.parsed:.2%}); users lost {len(lost)} of {len(true.by_user)}, "
        f"users miscounted {counted_wrong}; covered from {off['covered_from']}"
    )
    print(summarise("insights off", [r.seconds for r in off_runs]))
    print(summarise("main", [r.seconds for r in main_runs]))

    problems = []
    for i, run in enumerate(main_runs, 1):
        problems += [f"run {i}: {w}" for w in differences(run.data, true)]
    median = statistics.median(r.seconds for r in main_runs)
    if median >= GOAL_SECONDS:
        problems.append(f"median {median:.1f} s, goal < {GOAL_SECONDS:.0f} s")
    by_api: Counter[str] = Counter()
    for run in main_runs:
        by_api.update(run.sim.calls)
    per_run = ", ".join(f"{api} {n / len(main_runs):g}" for api, n in sorted(by_api.items()))
    print(f"AWS calls per main run: {per_run}")
    if problems:
        print("MISS:\n  " + "\n  ".join(problems[:20]))
        return 1
    print(f"OK: every answer exact, median {median:.1f} s < {GOAL_SECONDS:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
