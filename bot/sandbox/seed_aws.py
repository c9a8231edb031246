"""Realistic `iam-db-auth-error` data written into an AWS emulator (the demo's, the tests').

Lines are written in the format RDS uses, and the metrics are derived from the same events, so the
log and the metrics agree the way they do on a real cluster.
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.domain.cluster import CLUSTER, INSTANCE, Kind, iam_log_group
from bot.domain.metrics import CLUSTER_DIMENSION, FAMILY_METRICS, NAMESPACE
from bot.domain.records import family_of

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_logs.type_defs import InputLogEventTypeDef
    from mypy_boto3_rds import RDSClient

_REASONS = {
    "InvalidToken": (
        "Failed to authenticate the connection request for user '{user}' because the provided "
        "token is malformed or otherwise invalid.",
        400,
    ),
    "ExpiredToken": (
        "Failed to authenticate the connection request for user '{user}' because the token age is "
        "longer than 15 minutes.",
        400,
    ),
    "NotAuthorized": (
        "Failed to authorize the connection request for user '{user}' because the IAM policy "
        "assumed by the caller '{caller}' is not authorized to perform rds-db:connect on the DB "
        "instance.",
        403,
    ),
    "ThrottlingException": (
        "Failed to authorize the connection request for user '{user}' due to IAM DB "
        "authentication throttling.",
        429,
    ),
    "InternalError": (
        "Failed to authorize the connection request for user '{user}' due to an internal IAM DB "
        "authentication error.",
        500,
    ),
}


@dataclass(frozen=True)
class Failure:
    time: datetime
    user: str
    code: str
    caller: str = "arn:aws:sts::123456789012:assumed-role/app-role/i-0abc"


def format_line(failure: Failure, *, compact_suffix: bool = False) -> str:
    """One line as RDS writes it: comma before the milliseconds, no zone (UTC)."""
    template, status = _REASONS.get(
        failure.code, ("Failed to authenticate the connection request for user '{user}'.", 400)
    )
    reason = template.format(user=failure.user, caller=failure.caller)
    stamp = failure.time.astimezone(UTC)
    ms = stamp.microsecond // 1000
    sep = "" if compact_suffix else " "
    return (
        f"{stamp:%Y-%m-%dT%H:%M:%S},{ms:03d} [ERROR] {reason} "
        f"(Status Code:{sep}{status}, Error Code:{sep}{failure.code})"
    )


def create_cluster(
    rds: RDSClient, cluster: str, *, iam: bool, exports: Sequence[str], instances: int = 2
) -> None:
    rds.create_db_cluster(
        DBClusterIdentifier=cluster,
        Engine="aurora-postgresql",
        MasterUsername="postgres",
        MasterUserPassword="demo-password-not-secret",
        EnableIAMDatabaseAuthentication=iam,
        EnableCloudwatchLogsExports=list(exports),
    )
    for n in range(1, instances + 1):
        rds.create_db_instance(
            DBInstanceIdentifier=f"{cluster}-{n}",
            DBInstanceClass="db.r6g.large",
            Engine="aurora-postgresql",
            DBClusterIdentifier=cluster,
        )


def create_instance(
    rds: RDSClient, instance: str, *, iam: bool, exports: Sequence[str], engine: str = "postgres"
) -> None:
    """A standalone RDS DB instance (no Aurora cluster), as `aws rds create-db-instance` makes."""
    rds.create_db_instance(
        DBInstanceIdentifier=instance,
        DBInstanceClass="db.t4g.medium",
        Engine=engine,
        AllocatedStorage=50,
        MasterUsername="postgres",
        MasterUserPassword="demo-password-not-secret",
        EnableIAMDatabaseAuthentication=iam,
        EnableCloudwatchLogsExports=list(exports),
    )


def put_lines(
    logs: CloudWatchLogsClient, group: str, stream: str, lines: Iterable[tuple[datetime, str]]
) -> None:
    """Write (time, message) events to one stream, sorted, in batches PutLogEvents accepts."""
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    events: list[InputLogEventTypeDef] = [
        {"timestamp": int(t.timestamp() * 1000), "message": m}
        for t, m in sorted(lines, key=lambda line: line[0])
    ]
    for offset in range(0, len(events), 5_000):
        logs.put_log_events(
            logGroupName=group, logStreamName=stream, logEvents=events[offset : offset + 5_000]
        )


def put_failures(
    logs: CloudWatchLogsClient,
    cluster: str,
    failures: Sequence[Failure],
    streams: int = 2,
    kind: Kind = CLUSTER,
) -> None:
    """Spread failures over `streams` streams (one per instance, as RDS does); a DB instance's
    log (`kind="instance"`) has one stream, named after it."""
    if kind == INSTANCE:
        streams = 1
    for n in range(streams):
        chunk = failures[n::streams]
        lines = [(f.time, format_line(f, compact_suffix=i % 7 == 0)) for i, f in enumerate(chunk)]
        stream = cluster if kind == INSTANCE else f"{cluster}-{n + 1}"
        put_lines(logs, iam_log_group(cluster, kind), stream, lines)


def put_metrics(
    cloudwatch: CloudWatchClient,
    cluster: str,
    failures: Sequence[Failure],
    successes_per_minute: int,
    start: datetime,
    end: datetime,
    *,
    step_minutes: int = 1,
    dimension: str = CLUSTER_DIMENSION,
) -> None:
    """Sum data points under `dimension` (DBClusterIdentifier, or DBInstanceIdentifier for a DB
    instance or an Aurora cluster's member) for failures in [start, end), one per step.

    RDS publishes one point a minute; a coarser step keeps long demo windows quick to query in the
    emulator, whose GetMetricData scans every stored point.
    """
    step = timedelta(minutes=step_minutes)
    first = start.replace(second=0, microsecond=0)

    def bucket(moment: datetime) -> datetime:
        return first + (moment - first) // step * step

    by_metric: dict[str, Counter[datetime]] = {m: Counter() for m in FAMILY_METRICS.values()}
    for failure in failures:
        metric = FAMILY_METRICS.get(family_of(failure.code))
        if metric and start <= failure.time < end:
            by_metric[metric][bucket(failure.time)] += 1
    buckets = []
    moment = first
    while moment < end:
        buckets.append(moment)
        moment += step
    data = []
    for minute in buckets:
        failed = sum(by_metric[m][minute] for m in by_metric)
        successes = successes_per_minute * step_minutes
        values = {
            "IamDbAuthConnectionRequests": successes + failed,
            "IamDbAuthConnectionSuccess": successes,
            "IamDbAuthConnectionFailure": failed,
            **{m: by_metric[m][minute] for m in by_metric},
        }
        for name, value in values.items():
            data.append(
                {
                    "MetricName": name,
                    "Dimensions": [{"Name": dimension, "Value": cluster}],
                    "Timestamp": minute,
                    "Value": float(value),
                    "Unit": "Count",
                }
            )
    for offset in range(0, len(data), 1000):
        cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[offset : offset + 1000])  # type: ignore[arg-type]


def demo_failures(now: datetime, rng: random.Random) -> list[Failure]:
    """A day of a busy cluster: a steady trickle, a deploy that broke token caching, a new service
    without rds-db:connect, a little throttling, and a client sending a hostile user name."""
    start = now - timedelta(hours=24)
    failures: list[Failure] = []

    def at(seconds_ago: float) -> datetime:
        return now - timedelta(seconds=seconds_ago)

    for _ in range(420):
        seconds = rng.uniform(60, 24 * 3600 - 60)
        user = rng.choice(["app_user", "app_user", "billing", "etl_loader"])
        failures.append(Failure(at(seconds), user, rng.choice(["InvalidToken", "ExpiredToken"])))
    # 40 minutes ago a deploy started caching tokens for an hour: a burst of ExpiredToken.
    for _ in range(260):
        failures.append(Failure(at(rng.uniform(120, 40 * 60)), "checkout_svc", "ExpiredToken"))
    # A reporting job moved to a new role that lacks rds-db:connect.
    for _ in range(90):
        failures.append(
            Failure(
                at(rng.uniform(60, 6 * 3600)),
                "reporting",
                "NotAuthorized",
                "arn:aws:sts::123456789012:assumed-role/reporting-job-role/batch-7",
            )
        )
    for _ in range(12):
        failures.append(
            Failure(at(rng.uniform(3 * 3600, 3.2 * 3600)), "app_user", "ThrottlingException")
        )
    failures.append(Failure(at(5 * 3600), "app_user", "InternalError"))
    for _ in range(3):
        failures.append(Failure(at(rng.uniform(600, 7200)), "<!channel> *urgent*", "InvalidToken"))
    return sorted((f for f in failures if f.time >= start), key=lambda f: f.time)


def instance_demo_failures(now: datetime, rng: random.Random) -> list[Failure]:
    """A day of an RDS for PostgreSQL DB instance: a billing service whose tokens now and then
    expire in a slow queue, and an invoice export moved to a Lambda role lacking rds-db:connect."""
    start = now - timedelta(hours=24)
    failures: list[Failure] = []

    def at(seconds_ago: float) -> datetime:
        return now - timedelta(seconds=seconds_ago)

    for _ in range(140):
        seconds = rng.uniform(60, 24 * 3600 - 60)
        user = rng.choice(["billing", "billing", "ledger_ro"])
        failures.append(Failure(at(seconds), user, rng.choice(["ExpiredToken", "InvalidToken"])))
    for _ in range(45):
        failures.append(
            Failure(
                at(rng.uniform(60, 3 * 3600)),
                "invoice_export",
                "NotAuthorized",
                "arn:aws:sts::123456789012:assumed-role/invoice-export-role/invoice-export-fn",
            )
        )
    return sorted((f for f in failures if f.time >= start), key=lambda f: f.time)
