"""The service layer: the questions people ask, answered from AWS through the adapters.

Handlers and the CLI call these functions; they never touch boto3 themselves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.aws.clients import AwsClients, retries_in_this_thread
from bot.aws.errors import LogGroupMissing
from bot.aws.logs import DEFAULT_EVENT_CAP, LogScan, iam_log_group, read_newest
from bot.aws.metrics import MetricQuery, cluster_metrics, get_metric_data
from bot.aws.rds import ClusterInfo, describe_cluster
from bot.aws.targets import Place, Targets
from bot.cache import TtlCache
from bot.config import Settings
from bot.domain.address import Address
from bot.domain.metrics import CLUSTER_DIMENSION, MetricsReport
from bot.domain.summary import FailureSummary
from bot.domain.window import Window

Clock = Callable[[], datetime]
DEFAULT_CACHE_SECONDS = 30.0


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class FailuresReport:
    cluster: ClusterInfo
    window: Window
    # None when the log export is off: then only the metrics can answer.
    summary: FailureSummary | None
    log_group_exists: bool
    metrics: MetricsReport
    retried: int = 0  # AWS calls retried after throttling or errors: slower, not wrong
    place: str = ""  # `account/region` when iamauth watches more than one

    @property
    def log_export_on(self) -> bool:
        return self.cluster.iam_log_export_on


def read_log_summary(
    aws: AwsClients, cluster: str, window: Window, cap: int
) -> FailureSummary | None:
    """What the cluster's `iam-db-auth-error` log says about `window`; None when the log group
    does not exist (yet). Past `cap` events, the newest `cap` are counted, not the oldest."""
    summary = FailureSummary()
    scan = LogScan(aws.logs(), iam_log_group(cluster), window, cap)
    try:
        for page in scan.pages():
            summary.add_lines(page)
    except LogGroupMissing:
        return None
    if not scan.truncated:
        return summary
    newest = read_newest(aws.logs(), scan.group, window, cap)
    summary = FailureSummary()
    for page in newest.pages:
        summary.add_lines(page)
    summary.truncated = newest.truncated
    summary.covered_from = newest.covered_from if newest.truncated else None
    return summary


class IamAuthService:
    def __init__(
        self,
        aws: AwsClients,
        *,
        event_cap: int = DEFAULT_EVENT_CAP,
        clock: Clock = utc_now,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        cache_clock: Callable[[], float] = time.monotonic,
        targets: Targets | None = None,
    ) -> None:
        self.aws = aws
        self.targets = targets
        self.event_cap = event_cap
        self.clock = clock
        self._cache: TtlCache[object] = TtlCache(cache_seconds, cache_clock)

    @classmethod
    def from_settings(
        cls, settings: Settings, aws: AwsClients | None = None, clock: Clock = utc_now
    ) -> IamAuthService:
        aws = aws or AwsClients(settings.aws)
        return cls(
            aws,
            event_cap=settings.event_cap,
            clock=clock,
            cache_seconds=settings.cache_seconds,
            targets=Targets(settings.targets, aws.settings),
        )

    def window(self, duration: timedelta) -> Window:
        return Window.ending_at(self.clock(), duration)

    def failures(self, cluster: str | Address, duration: timedelta) -> FailuresReport:
        """Failures of the window ending now (or the same answer, if asked in the last 30 s)."""
        address = cluster if isinstance(cluster, Address) else Address(cluster)
        report = self._cache.get(
            ("failures", str(address), duration), lambda: self._failures(address, duration)
        )
        assert isinstance(report, FailuresReport)
        return report

    def metrics(
        self, cluster: str | Address, duration: timedelta
    ) -> tuple[ClusterInfo, MetricsReport]:
        address = cluster if isinstance(cluster, Address) else Address(cluster)
        answer = self._cache.get(
            ("metrics", str(address), duration), lambda: self._metrics(address, duration)
        )
        assert isinstance(answer, tuple)
        return answer

    def _place(self, address: Address) -> tuple[AwsClients, str]:
        """The clients of the place holding the cluster, and its label ("" with one place)."""
        if self.targets is None:
            return self.aws, ""
        return self.targets.locate(address, self.aws)

    def _failures(self, address: Address, duration: timedelta) -> FailuresReport:
        retries_in_this_thread(reset=True)
        window = self.window(duration)
        aws, place = self._place(address)
        info = describe_cluster(aws.rds(), address.cluster)
        metrics = cluster_metrics(aws.cloudwatch(), info.identifier, info.instances, window)
        summary: FailureSummary | None = None
        group_exists = False
        if info.iam_log_export_on:
            summary = read_log_summary(aws, info.identifier, window, self.event_cap)
            group_exists = summary is not None
            # The group appears with the first failure after the export is turned on.
            summary = summary or FailureSummary()
        return FailuresReport(
            info, window, summary, group_exists, metrics, retries_in_this_thread(), place
        )

    def _metrics(self, address: Address, duration: timedelta) -> tuple[ClusterInfo, MetricsReport]:
        window = self.window(duration)
        aws, _ = self._place(address)
        info = describe_cluster(aws.rds(), address.cluster)
        return info, cluster_metrics(aws.cloudwatch(), info.identifier, info.instances, window)


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
