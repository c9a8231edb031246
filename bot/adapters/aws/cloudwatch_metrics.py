"""GetMetricData for the `IamDbAuth*` metrics, in batches of at most 500 queries per call."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.adapters.aws.errors import BOTOCORE_ERRORS, AwsError, aws_error
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
    return [
        Series(timestamps=tuple(sorted(p)), values=tuple(p[t] for t in sorted(p))) for p in points
    ]


def has_cluster_series(client: CloudWatchClient, cluster: str) -> bool:
    """Whether CloudWatch holds IamDbAuth* series under DBClusterIdentifier for this cluster."""
    try:
        paginator = client.get_paginator("list_metrics")
        pages = paginator.paginate(
            Namespace=NAMESPACE, Dimensions=[{"Name": CLUSTER_DIMENSION, "Value": cluster}]
        )
        return any(
            m.get("MetricName") in METRIC_NAMES for page in pages for m in page.get("Metrics", [])
        )
    except BOTOCORE_ERRORS as error:
        raise _translate(error, "ListMetrics") from None


def cluster_metrics(
    client: CloudWatchClient, cluster: str, instances: Sequence[str], window: Window
) -> MetricsReport:
    """The seven metrics of a cluster, by DBClusterIdentifier, or summed over its instances.

    Which dimension carries the IamDbAuth* metrics is not documented: ListMetrics says whether
    cluster-level series exist; where they do not, the instances' series are summed.
    """
    period = choose_period(window.duration)
    window = Window(*align_to_period(window.start, window.end, period))
    by_instance = bool(instances) and not has_cluster_series(client, cluster)
    if by_instance:
        queries = [MetricQuery(m, INSTANCE_DIMENSION, i) for m in METRIC_NAMES for i in instances]
    else:
        queries = [MetricQuery(m, CLUSTER_DIMENSION, cluster) for m in METRIC_NAMES]
    results = get_metric_data(client, queries, window, period)
    merged: dict[str, dict[datetime, float]] = {m: defaultdict(float) for m in METRIC_NAMES}
    for query, series in zip(queries, results, strict=True):
        for ts, value in zip(series.timestamps, series.values, strict=True):
            merged[query.metric][ts] += value
    # With no data under either dimension, say "cluster": that is what was asked about.
    by_instance = by_instance and any(merged.values())
    return MetricsReport(
        cluster=cluster,
        start=window.start,
        end=window.end,
        period=period,
        dimension=INSTANCE_DIMENSION if by_instance else CLUSTER_DIMENSION,
        instances=tuple(instances) if by_instance else (),
        series={
            m: Series(tuple(sorted(p)), tuple(p[t] for t in sorted(p))) for m, p in merged.items()
        },
    )


def fetch_all_metrics(
    client: CloudWatchClient, clusters: Sequence[str], window: Window, period: int = 60
) -> dict[str, dict[str, Series]]:
    """All seven metrics of many clusters by DBClusterIdentifier: ceil(7·N/500) calls."""
    queries = [MetricQuery(m, CLUSTER_DIMENSION, c) for c in clusters for m in METRIC_NAMES]
    results = get_metric_data(client, queries, window, period)
    out: dict[str, dict[str, Series]] = {c: {} for c in clusters}
    for query, series in zip(queries, results, strict=True):
        out[query.value][query.metric] = series
    return out


def _translate(error: Exception, api: str) -> AwsError:
    return aws_error(error, "CloudWatch", f"cloudwatch:{api}")
