"""GetMetricData for the `IamDbAuth*` metrics, in batches of at most 500 queries per call, and the
one rule for which series answer for an Aurora cluster or an RDS DB instance."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.adapters.aws.errors import BOTOCORE_ERRORS, AwsError, aws_error
from bot.domain.cluster import CLUSTER, INSTANCE, ClusterInfo, Kind
from bot.domain.metrics import (
    CLUSTER_DIMENSION,
    INSTANCE_DIMENSION,
    METRIC_NAMES,
    NAMESPACE,
    MetricsReport,
    Series,
    align_to_period,
    choose_period,
)
from bot.domain.window import Window

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

MAX_QUERIES_PER_CALL = 500
MAX_POINTS_PER_CALL = 100_800


@dataclass(frozen=True)
class MetricQuery:
    metric: str
    dimension: str
    value: str


def get_metric_data(
    client: CloudWatchClient, queries: Sequence[MetricQuery], window: Window, period: int
) -> list[Series]:
    """One Series per query, in the order given.

    ceil(len(queries)/500) calls, fewer queries per call only where 500 series of this window
    would pass GetMetricData's 100,800 data points per call (plus NextToken pages, if any).
    """
    points: list[dict[datetime, float]] = [defaultdict(float) for _ in queries]
    per_query = max(1, math.ceil(window.duration.total_seconds() / period))
    batch_size = max(1, min(MAX_QUERIES_PER_CALL, MAX_POINTS_PER_CALL // per_query))
    for offset in range(0, len(queries), batch_size):
        batch = queries[offset : offset + batch_size]
        request: dict[str, Any] = {
            "MetricDataQueries": [
                {
                    "Id": f"q{offset + i}",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": NAMESPACE,
                            "MetricName": q.metric,
                            "Dimensions": [{"Name": q.dimension, "Value": q.value}],
                        },
                        "Period": period,
                        "Stat": "Sum",
                    },
                    "ReturnData": True,
                }
                for i, q in enumerate(batch)
            ],
            "StartTime": window.start,
            "EndTime": window.end,
            "ScanBy": "TimestampAscending",
        }
        while True:
            try:
                response = client.get_metric_data(**request)
            except BOTOCORE_ERRORS as error:
                raise _translate(error, "GetMetricData") from None
            for result in response.get("MetricDataResults", []):
                index = int(result["Id"][1:])
                for ts, value in zip(
                    result.get("Timestamps", []), result.get("Values", []), strict=False
                ):
                    points[index][ts.astimezone(UTC)] += value
            token = response.get("NextToken")
            if not token:
                break
            request["NextToken"] = token
    return [_series(p) for p in points]


@dataclass(frozen=True)
class MetricsSource:
    """A resource whose metrics are read: its name, the dimension of its own series, and for an
    Aurora cluster its members, whose DBInstanceIdentifier series answer where its own have none."""

    name: str
    dimension: str = CLUSTER_DIMENSION
    members: tuple[str, ...] = ()

    @classmethod
    def of(cls, info: ClusterInfo) -> MetricsSource:
        return cls(info.identifier, info.dimension, info.instances)

    @property
    def may_fall_back(self) -> bool:
        return self.dimension == CLUSTER_DIMENSION and bool(self.members)


@dataclass(frozen=True)
class SourceMetrics:
    """What answered for a source: one Series per metric, the dimension read, and the members
    summed (() where the resource's own series answered)."""

    series: dict[str, Series]
    dimension: str
    instances: tuple[str, ...] = ()


def read_metrics(
    client: CloudWatchClient,
    sources: Sequence[MetricsSource],
    window: Window,
    period: int,
    metrics: Sequence[str] = METRIC_NAMES,
) -> list[SourceMetrics]:
    """The one rule for which series answer for a resource, for many at once, in the order given.

    A DB instance: its DBInstanceIdentifier series. An Aurora cluster: its DBClusterIdentifier
    series; where those hold no data point in the window and the cluster has members, the members'
    DBInstanceIdentifier series summed (which dimension carries IamDbAuth* is not documented).

    GetMetricData calls (each batch also kept under 100,800 points): ceil(len(metrics)·N/500)
    for the N resources' own series, plus, only where some cluster's own series came back empty,
    ceil(len(metrics)·M/500) for the M members of those clusters. Deciding by the data fetched
    needs no ListMetrics call (it lists series up to 15 minutes late, and one call per cluster
    would not scale to a digest of many), and adds nothing where every cluster has data.
    """
    own = [MetricQuery(m, s.dimension, s.name) for s in sources for m in metrics]
    fetched = get_metric_data(client, own, window, period)
    per_source = len(metrics)
    answers = [
        SourceMetrics(
            dict(zip(metrics, fetched[i * per_source : (i + 1) * per_source], strict=True)),
            source.dimension,
        )
        for i, source in enumerate(sources)
    ]
    empty = [
        i
        for i, (source, answer) in enumerate(zip(sources, answers, strict=True))
        if source.may_fall_back and not any(s.values for s in answer.series.values())
    ]
    if not empty:
        return answers
    members = [(i, member) for i in empty for member in sources[i].members]
    queries = [MetricQuery(m, INSTANCE_DIMENSION, member) for _, member in members for m in metrics]
    results = get_metric_data(client, queries, window, period)
    summed: dict[int, dict[str, dict[datetime, float]]] = {
        i: {m: defaultdict(float) for m in metrics} for i in empty
    }
    for k, (query, series) in enumerate(zip(queries, results, strict=True)):
        points = summed[members[k // per_source][0]][query.metric]
        for ts, value in zip(series.timestamps, series.values, strict=True):
            points[ts] += value
    for i, by_metric in summed.items():
        # With no data under either dimension, say the cluster's own: that is what was asked about.
        if any(by_metric.values()):
            answers[i] = SourceMetrics(
                {m: _series(p) for m, p in by_metric.items()},
                INSTANCE_DIMENSION,
                sources[i].members,
            )
    return answers


def resource_metrics(
    client: CloudWatchClient, source: MetricsSource | ClusterInfo, window: Window
) -> MetricsReport:
    """The seven metrics of one cluster or DB instance (`/iamauth metrics`, `failures`), by the
    rule of read_metrics: one GetMetricData call, two where a cluster's own series are empty."""
    if isinstance(source, ClusterInfo):
        source = MetricsSource.of(source)
    period = choose_period(window.duration)
    window = Window(*align_to_period(window.start, window.end, period))
    (answer,) = read_metrics(client, [source], window, period)
    return MetricsReport(
        cluster=source.name,
        start=window.start,
        end=window.end,
        period=period,
        dimension=answer.dimension,
        instances=answer.instances,
        series=answer.series,
    )


def cluster_metrics(
    client: CloudWatchClient,
    cluster: str,
    instances: Sequence[str],
    window: Window,
    kind: Kind = CLUSTER,
) -> MetricsReport:
    """resource_metrics of a resource given by its name, members and kind."""
    dimension = INSTANCE_DIMENSION if kind == INSTANCE else CLUSTER_DIMENSION
    return resource_metrics(client, MetricsSource(cluster, dimension, tuple(instances)), window)


def _series(points: dict[datetime, float]) -> Series:
    order = sorted(points)
    return Series(tuple(order), tuple(points[t] for t in order))


def _translate(error: Exception, api: str) -> AwsError:
    return aws_error(error, "CloudWatch", f"cloudwatch:{api}")
