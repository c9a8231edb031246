"""GetMetricData against moto's server: exact sums, batching, and the instance fallback."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.cloudwatch_metrics import MetricQuery, cluster_metrics, get_metric_data
from bot.domain.metrics import NAMESPACE
from bot.domain.window import Window


def put(
    aws: AwsClients, metric: str, dimension: str, value: str, points: list[tuple[datetime, float]]
) -> None:
    data: list[Any] = [
        {
            "MetricName": metric,
            "Dimensions": [{"Name": dimension, "Value": value}],
            "Timestamp": t,
            "Value": v,
        }
        for t, v in points
    ]
    aws.cloudwatch().put_metric_data(Namespace=NAMESPACE, MetricData=data)


def test_cluster_dimension_sums_exactly(aws: AwsClients, now: datetime) -> None:
    points = [(now - timedelta(minutes=m), float(m)) for m in range(1, 31)]
    put(aws, "IamDbAuthConnectionFailureInvalidToken", "DBClusterIdentifier", "prod-db", points)
    put(aws, "IamDbAuthConnectionFailure", "DBClusterIdentifier", "prod-db", points)
    report = cluster_metrics(
        aws.cloudwatch(), "prod-db", ["prod-db-1"], Window(now - timedelta(hours=1), now)
    )
    assert report.dimension == "DBClusterIdentifier"
    assert report.period == 60
    assert report.total("IamDbAuthConnectionFailureInvalidToken") == sum(range(1, 31))
    assert report.total("IamDbAuthConnectionRequests") == 0
    series = report.series["IamDbAuthConnectionFailure"]
    assert list(series.timestamps) == sorted(series.timestamps)


def test_falls_back_to_the_sum_of_instances(aws: AwsClients, now: datetime) -> None:
    for instance, value in (("inst-1", 2.0), ("inst-2", 5.0)):
        put(
            aws,
            "IamDbAuthConnectionRequests",
            "DBInstanceIdentifier",
            instance,
            [(now - timedelta(minutes=3), value)],
        )
    report = cluster_metrics(
        aws.cloudwatch(), "db", ["inst-1", "inst-2"], Window(now - timedelta(hours=1), now)
    )
    assert report.dimension == "DBInstanceIdentifier"
    assert report.instances == ("inst-1", "inst-2")
    assert report.total("IamDbAuthConnectionRequests") == 7


def test_more_than_500_queries_are_split_into_batches(aws: AwsClients, now: datetime) -> None:
    window = Window(now - timedelta(hours=1), now)
    put(
        aws,
        "IamDbAuthConnectionRequests",
        "DBClusterIdentifier",
        "c-700",
        [(now - timedelta(minutes=2), 4.0)],
    )
    calls: list[int] = []
    client = aws.cloudwatch()

    def count(params: dict[str, Any], **_: Any) -> None:
        calls.append(len(params["MetricDataQueries"]))

    client.meta.events.register("provide-client-params.cloudwatch.GetMetricData", count)
    queries = [
        MetricQuery("IamDbAuthConnectionRequests", "DBClusterIdentifier", f"c-{i}")
        for i in range(1001)
    ]
    results = get_metric_data(client, queries, window, 60)
    assert calls == [500, 500, 1]
    assert len(results) == 1001
    assert results[700].total == 4.0
    assert sum(r.total for r in results) == 4.0
