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
from bot.aws.logs import DEFAULT_EVENT_CAP, LogScan, iam_log_group
from bot.aws.metrics import cluster_metrics
from bot.aws.rds import ClusterInfo, describe_cluster
from bot.cache import TtlCache
from bot.domain.metrics import MetricsReport
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

    @property
    def log_export_on(self) -> bool:
        return self.cluster.iam_log_export_on


class IamAuthService:
    def __init__(
        self,
        aws: AwsClients,
        *,
        event_cap: int = DEFAULT_EVENT_CAP,
        clock: Clock = utc_now,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        cache_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.aws = aws
        self.event_cap = event_cap
        self.clock = clock
        self._cache: TtlCache[object] = TtlCache(cache_seconds, cache_clock)

    def window(self, duration: timedelta) -> Window:
        return Window.ending_at(self.clock(), duration)

    def failures(self, cluster: str, duration: timedelta) -> FailuresReport:
        """Failures of the window ending now (or the same answer, if asked in the last 30 s)."""
        report = self._cache.get(
            ("failures", cluster, duration), lambda: self._failures(cluster, duration)
        )
        assert isinstance(report, FailuresReport)
        return report

    def metrics(self, cluster: str, duration: timedelta) -> tuple[ClusterInfo, MetricsReport]:
        answer = self._cache.get(
            ("metrics", cluster, duration), lambda: self._metrics(cluster, duration)
        )
        assert isinstance(answer, tuple)
        return answer

    def _failures(self, cluster: str, duration: timedelta) -> FailuresReport:
        retries_in_this_thread(reset=True)
        window = self.window(duration)
        info = describe_cluster(self.aws.rds(), cluster)
        metrics = cluster_metrics(self.aws.cloudwatch(), info.identifier, info.instances, window)
        summary: FailureSummary | None = None
        group_exists = False
        if info.iam_log_export_on:
            summary = FailureSummary()
            scan = LogScan(self.aws.logs(), iam_log_group(info.identifier), window, self.event_cap)
            try:
                for page in scan.pages():
                    summary.add_lines(page)
                group_exists = True
            except LogGroupMissing:
                # The group appears with the first failure after the export is turned on.
                group_exists = False
            summary.truncated = scan.truncated
        return FailuresReport(
            info, window, summary, group_exists, metrics, retried=retries_in_this_thread()
        )

    def _metrics(self, cluster: str, duration: timedelta) -> tuple[ClusterInfo, MetricsReport]:
        window = self.window(duration)
        info = describe_cluster(self.aws.rds(), cluster)
        return info, cluster_metrics(self.aws.cloudwatch(), info.identifier, info.instances, window)
