"""The service layer: the questions people ask, answered from AWS through the adapters.

Handlers and the CLI call these functions; they never touch boto3 themselves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.adapters.aws.clients import AwsClients, retries_in_this_thread
from bot.adapters.aws.cloudwatch_logs import DEFAULT_EVENT_CAP, read_window
from bot.adapters.aws.cloudwatch_metrics import MetricQuery, cluster_metrics, get_metric_data
from bot.adapters.aws.errors import LogGroupMissing
from bot.adapters.aws.rds import describe_cluster, enable_iam_log_export
from bot.adapters.aws.targets import Place, Targets
from bot.config import Settings
from bot.domain.address import Address
from bot.domain.cluster import ClusterInfo, iam_log_group
from bot.domain.metrics import CLUSTER_DIMENSION, MetricsReport
from bot.domain.summary import FailureSummary
from bot.domain.window import Window
from bot.ops.cache import TtlCache
from bot.services.who_failed_from_where import ClientsAnswer, who_failed_from_where

Clock = Callable[[], datetime]
DEFAULT_CACHE_SECONDS = 30.0
# Following a log-export change until the cluster is `available` again (Aurora: a few minutes).
MODIFY_POLL_SECONDS = 15.0
MODIFY_TIMEOUT_SECONDS = 20 * 60.0


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
    clients: ClientsAnswer | None = None  # who failed from where; None when not asked

    @property
    def log_export_on(self) -> bool:
        return self.cluster.iam_log_export_on


def _as_address(cluster: str | Address) -> Address:
    """Callers may name a cluster by its identifier alone (`prod-db`)."""
    return cluster if isinstance(cluster, Address) else Address(cluster)


def read_log_summary(
    aws: AwsClients, cluster: str, window: Window, cap: int, *, keep_events: bool = False
) -> FailureSummary | None:
    """What the cluster's `iam-db-auth-error` log says about `window`; None when the log group
    does not exist (yet). Past `cap` events, the newest `cap` are counted, not the oldest.
    `keep_events` also keeps each failure's (time, user, code), for matching to other logs."""
    try:
        read = read_window(
            aws.logs(),
            iam_log_group(cluster),
            window,
            cap,
            lambda: FailureSummary(events=[] if keep_events else None),
        )
    except LogGroupMissing:
        return None
    summary = read.sink
    summary.truncated, summary.covered_from = read.truncated, read.covered_from
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
        modify_poll_seconds: float = MODIFY_POLL_SECONDS,
        modify_timeout_seconds: float = MODIFY_TIMEOUT_SECONDS,
    ) -> None:
        self.aws = aws
        self.modify_poll_seconds = modify_poll_seconds
        self.modify_timeout_seconds = modify_timeout_seconds
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

    def failures(
        self, cluster: str | Address, duration: timedelta, clients: bool = False
    ) -> FailuresReport:
        """Failures of the window ending now (or the same answer, if asked in the last 30 s).
        `clients` also matches them to the postgresql log: who failed from where."""
        address = _as_address(cluster)
        report = self._cache.get(
            ("failures", str(address), duration, clients),
            lambda: self._failures(address, duration, clients),
        )
        assert isinstance(report, FailuresReport)
        return report

    def metrics(
        self, cluster: str | Address, duration: timedelta
    ) -> tuple[ClusterInfo, MetricsReport]:
        address = _as_address(cluster)
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

    def _failures(self, address: Address, duration: timedelta, clients: bool) -> FailuresReport:
        retries_in_this_thread(reset=True)
        window = self.window(duration)
        aws, place = self._place(address)
        info = describe_cluster(aws.rds(), address.cluster)
        metrics = cluster_metrics(aws.cloudwatch(), info.identifier, info.instances, window)
        summary: FailureSummary | None = None
        group_exists = False
        if info.iam_log_export_on:
            summary = read_log_summary(
                aws, info.identifier, window, self.event_cap, keep_events=clients
            )
            group_exists = summary is not None
            # The group appears with the first failure after the export is turned on.
            summary = summary or FailureSummary(events=[] if clients else None)
        answer = None
        if clients:
            answer = who_failed_from_where(aws, info, window, summary, self.event_cap)
        return FailuresReport(
            info, window, summary, group_exists, metrics, retries_in_this_thread(), place, answer
        )

    def _metrics(self, address: Address, duration: timedelta) -> tuple[ClusterInfo, MetricsReport]:
        window = self.window(duration)
        aws, _ = self._place(address)
        info = describe_cluster(aws.rds(), address.cluster)
        return info, cluster_metrics(aws.cloudwatch(), info.identifier, info.instances, window)

    # Log exports --------------------------------------------------------------------------------
    def log_exports(self, cluster: str | Address) -> LogExports:
        """The cluster's log exports, read fresh (never cached): people ask this to follow a change."""
        address = _as_address(cluster)
        aws, place = self._place(address)
        return LogExports(describe_cluster(aws.rds(), address.cluster), place)

    def enable_iam_log_export(self, cluster: str | Address) -> ExportChange:
        """Turn the `iam-db-auth-error` export on, unless it is on or being turned on already."""
        address = _as_address(cluster)
        aws, place = self._place(address)
        info = describe_cluster(aws.rds(), address.cluster)
        if info.iam_log_export_on or info.iam_log_export_pending:
            return ExportChange(info, place, requested=False)
        changed = enable_iam_log_export(aws.rds(), info.identifier)
        # Answers cached before the change say "export off": none may be served after it.
        self._cache.clear()
        return ExportChange(changed, place, requested=True)

    def wait_for_iam_log_export(self, cluster: str | Address) -> ClusterInfo | None:
        """Poll until the cluster is `available` with the export on; None after the timeout.
        Both are checked: right after ModifyDBCluster a cluster may still say `available`."""
        address = _as_address(cluster)
        aws, _ = self._place(address)
        deadline = time.monotonic() + self.modify_timeout_seconds
        while True:
            info = describe_cluster(aws.rds(), address.cluster)
            if info.status == "available" and info.iam_log_export_on:
                self._cache.clear()
                return info
            if time.monotonic() + self.modify_poll_seconds > deadline:
                return None
            time.sleep(self.modify_poll_seconds)


@dataclass(frozen=True)
class LogExports:
    cluster: ClusterInfo
    place: str = ""  # `account/region` when iamauth watches more than one


@dataclass(frozen=True)
class ExportChange:
    cluster: ClusterInfo  # as ModifyDBCluster answered, or as described when nothing was asked
    place: str
    requested: bool  # False: the export was on, or being turned on, already; nothing was called


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
