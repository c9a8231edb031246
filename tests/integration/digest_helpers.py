"""Helpers for digest tests: metric data per minute, and the runner under a test clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.adapters.aws.clients import AwsClients
from bot.domain.metrics import NAMESPACE


def put_per_minute(
    aws: AwsClients, cluster: str, metric: str, base: datetime, per_minute: dict[int, float]
) -> None:
    """Data points at base + m minutes (m may be negative or in the future)."""
    data: list[Any] = [
        {
            "MetricName": metric,
            "Dimensions": [{"Name": "DBClusterIdentifier", "Value": cluster}],
            "Timestamp": base + timedelta(minutes=m),
            "Value": value,
        }
        for m, value in sorted(per_minute.items())
    ]
    for offset in range(0, len(data), 500):
        aws.cloudwatch().put_metric_data(
            Namespace=NAMESPACE, MetricData=data[offset : offset + 500]
        )


INVALID = "IamDbAuthConnectionFailureInvalidToken"
PERMISSIONS = "IamDbAuthConnectionFailureInsufficientPermissions"
