"""The service layer: the questions people ask, answered from AWS through the adapters.

Handlers and the CLI call these functions; they never touch boto3 themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.aws.clients import AwsClients
from bot.aws.errors import LogGroupMissing
from bot.aws.logs import DEFAULT_EVENT_CAP, LogScan, iam_log_group
from bot.aws.metrics import cluster_metrics
from bot.aws.rds import ClusterInfo, describe_cluster
from bot.domain.metrics import MetricsReport
from bot.domain.summary import FailureSummary
from bot.domain.window import Window

Clock = Callable[[], datetime]


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

    @property
    def log_export_on(self) -> bool:
        return self.cluster.iam_log_export_on


class IamAuthService:
    def __init__(
        self, aws: AwsClients, *, event_cap: int = DEFAULT_EVENT_CAP, clock: Clock = utc_now
    ) -> None:
        self.aws = aws
        self.event_cap = event_cap
        self.clock = clock

    def window(self, duration: timedelta) -> Window:
        return Window.ending_at(self.clock(), duration)

    def failures(self, cluster: str, duration: timedelta) -> FailuresReport:
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
        return FailuresReport(info, window, summary, group_exists, metrics)

    def metrics(self, cluster: str, duration: timedelta) -> tuple[ClusterInfo, MetricsReport]:
        window = self.window(duration)
        info = describe_cluster(self.aws.rds(), cluster)
        return info, cluster_metrics(self.aws.cloudwatch(), info.identifier, info.instances, window)
