"""Every cluster with IAM auth enabled, in every place, with its last-24h failures
(`/iamauth clusters`, `iamauth clusters`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.adapters.aws.cloudwatch_metrics import MetricQuery, get_metric_data
from bot.adapters.aws.targets import Place, Targets
from bot.domain.metrics import CLUSTER_DIMENSION
from bot.domain.window import Window
from bot.ops.clock import Clock


@dataclass(frozen=True)
class ClusterRow:
    place: str
    cluster: str
    log_export_on: bool
    failures_24h: int


@dataclass(frozen=True)
class ClusterListing:
    rows: list[ClusterRow]
    problems: list[str]  # places that could not be read, in one sentence each


def list_clusters(targets: Targets, now: datetime) -> ClusterListing:
    """Clusters with IAM auth enabled in every place, with their last-24h failure count: one
    DescribeDBClusters listing and one batched GetMetricData call per place, places in parallel."""
    window = Window(now - timedelta(hours=24), now)

    def place_rows(place: Place) -> list[ClusterRow]:
        clusters = [c for c in targets.inventory(place, fresh=True) if c.iam_auth_enabled]
        if not clusters:
            return []
        queries = [
            MetricQuery("IamDbAuthConnectionFailure", CLUSTER_DIMENSION, c.identifier)
            for c in clusters
        ]
        series = get_metric_data(targets.clients(place).cloudwatch(), queries, window, 3600)
        return [
            ClusterRow(place.label, c.identifier, c.iam_log_export_on, round(s.total))
            for c, s in zip(clusters, series, strict=True)
        ]

    rows: list[ClusterRow] = []
    problems: list[str] = []
    for place, result in targets.each_place(place_rows):
        if isinstance(result, Exception):
            problems.append(f"{place.label}: {result}")
        else:
            rows.extend(result)
    rows.sort(key=lambda r: (-r.failures_24h, r.place, r.cluster))
    return ClusterListing(rows, problems)


class ClusterService:
    def __init__(self, targets: Targets, clock: Clock) -> None:
        self.targets = targets
        self.clock = clock

    def listing(self) -> ClusterListing:
        return list_clusters(self.targets, self.clock())
