"""What people ask of a cluster: its failures (`/iamauth failures`, `iamauth failures`) and its
IamDbAuth* metrics, answered from AWS through the adapters, as data. The same question asked again
within `cache_seconds` is answered from the cache, not from AWS."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.adapters.aws.clients import AwsClients, retries_in_this_thread
from bot.adapters.aws.cloudwatch_logs import DEFAULT_EVENT_CAP, read_window
from bot.adapters.aws.cloudwatch_metrics import cluster_metrics
from bot.adapters.aws.errors import LogGroupMissing
from bot.adapters.aws.rds import describe_cluster
from bot.adapters.aws.targets import Targets
from bot.domain.address import Address
from bot.domain.cluster import ClusterInfo, iam_log_group
from bot.domain.metrics import MetricsReport
from bot.domain.summary import FailureSummary
from bot.domain.window import Window
from bot.ops.cache import TtlCache
from bot.ops.clock import Clock, utc_now
from bot.services.places import as_address, locate
from bot.services.who_failed_from_where import ClientsAnswer, who_failed_from_where

DEFAULT_CACHE_SECONDS = 30.0


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


class QueryService:
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

    def window(self, duration: timedelta) -> Window:
        return Window.ending_at(self.clock(), duration)

    def forget(self) -> None:
        """Drop every cached answer: a change (a log export turned on) made them wrong."""
        self._cache.clear()

    def failures(
        self, cluster: str | Address, duration: timedelta, clients: bool = False
    ) -> FailuresReport:
        """Failures of the window ending now (or the same answer, if asked in the last 30 s).
        `clients` also matches them to the postgresql log: who failed from where."""
        address = as_address(cluster)
        report = self._cache.get(
            ("failures", str(address), duration, clients),
            lambda: self._failures(address, duration, clients),
        )
        assert isinstance(report, FailuresReport)
        return report

    def metrics(
        self, cluster: str | Address, duration: timedelta
    ) -> tuple[ClusterInfo, MetricsReport]:
        address = as_address(cluster)
        answer = self._cache.get(
            ("metrics", str(address), duration), lambda: self._metrics(address, duration)
        )
        assert isinstance(answer, tuple)
        return answer

    def _failures(self, address: Address, duration: timedelta, clients: bool) -> FailuresReport:
        retries_in_this_thread(reset=True)
        window = self.window(duration)
        aws, place = locate(self.aws, self.targets, address)
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
        aws, _ = locate(self.aws, self.targets, address)
        info = describe_cluster(aws.rds(), address.cluster)
        return info, cluster_metrics(aws.cloudwatch(), info.identifier, info.instances, window)
