"""What people ask of a database (an Aurora cluster or an RDS DB instance): its failures (`/iamauth failures`, `iamauth failures`) and its
IamDbAuth* metrics, answered from AWS through the adapters, as data. The same question asked again
within `cache_seconds` is answered from the cache, not from AWS."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.adapters.aws.clients import AwsClients, retries_in_this_thread
from bot.adapters.aws.cloudwatch_logs import DEFAULT_EVENT_CAP, read_window
from bot.adapters.aws.cloudwatch_metrics import resource_metrics
from bot.adapters.aws.errors import LogGroupMissing
from bot.adapters.aws.rate_budget import LogReadBudgetBusy
from bot.adapters.aws.rds import describe_resource
from bot.adapters.aws.targets import Targets
from bot.domain.address import Address
from bot.domain.cluster import CLUSTER, ClusterInfo, Kind, iam_log_group
from bot.domain.metrics import MetricsReport
from bot.domain.read_plan import EventCounts, counts_from_report
from bot.domain.summary import FailureSummary
from bot.domain.window import Window
from bot.ops.cache import TtlCache
from bot.ops.clock import Clock, utc_now
from bot.services.exact_counts import PATH_FILTER, ExactOptions, counted_summary
from bot.services.places import as_address, locate
from bot.services.refused_callers import RefusedCallers, analyse_refused
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
    # The log reads would have waited for the account's log-read budget past the answer's
    # deadline: then summary and clients are None and only the metrics answer.
    log_budget_busy: LogReadBudgetBusy | None = None
    # How the log's counts were made: "filter" (FilterLogEvents read the window) or "insights"
    # (Logs Insights counted it, FilterLogEvents read the newest pages for samples).
    path: str = PATH_FILTER
    insights_error: str = ""  # why Logs Insights could not count a window too big to read
    # The NotAuthorized callers analysed (principal, exact ARNs, IAM's simulation); None: none.
    refused: RefusedCallers | None = None

    @property
    def log_export_on(self) -> bool:
        return self.cluster.iam_log_export_on


def read_log_summary(
    aws: AwsClients,
    cluster: str,
    window: Window,
    cap: int,
    *,
    keep_events: bool = False,
    kind: Kind = CLUSTER,
    counts: EventCounts | None = None,
) -> FailureSummary | None:
    """What the `iam-db-auth-error` log of the cluster (or, with `kind="instance"`, the DB
    instance) says about `window`; None when the log group does not exist (yet). Past `cap`
    events, the newest `cap` are counted, not the oldest. `keep_events` also keeps each
    failure's (time, user, code), for matching to other logs. `counts` (the window's failures per
    metric period) plan the read so that no event is read twice (bot/domain/read_plan.py)."""
    try:
        read = read_window(
            aws.logs(),
            iam_log_group(cluster, kind),
            window,
            cap,
            lambda: FailureSummary(events=[] if keep_events else None),
            counts=counts,
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
        exact: ExactOptions | None = None,
    ) -> None:
        self.aws = aws
        self.exact = exact or ExactOptions()
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
        info = describe_resource(aws.rds(), address.cluster, address.kind)
        metrics = metrics_of(aws, info, window)
        summary: FailureSummary | None = None
        group_exists = False
        answer = None
        path, insights_error = PATH_FILTER, ""
        try:
            if info.iam_log_export_on:
                summary, path, insights_error = counted_summary(
                    aws.logs(),
                    iam_log_group(info.identifier, info.kind),
                    window,
                    self.exact,
                    metrics,
                    self.event_cap,
                    lambda: read_log_summary(
                        aws,
                        info.identifier,
                        window,
                        self.event_cap,
                        keep_events=clients,
                        kind=info.kind,
                        counts=counts_from_report(metrics, window.end),
                    ),
                    keep_events=clients,
                )
                group_exists = summary is not None
                # The group appears with the first failure after the export is turned on.
                summary = summary or FailureSummary(events=[] if clients else None)
            if clients:
                answer = who_failed_from_where(aws, info, window, summary, self.event_cap)
        except LogReadBudgetBusy as busy:  # the metrics are outside that budget: they answer
            return FailuresReport(
                info,
                window,
                None,
                False,
                metrics,
                retries_in_this_thread(),
                place,
                log_budget_busy=busy,
            )
        return FailuresReport(
            info,
            window,
            summary,
            group_exists,
            metrics,
            retries_in_this_thread(),
            place,
            answer,
            path=path,
            insights_error=insights_error,
            refused=analyse_refused(aws, info, summary) if summary is not None else None,
        )

    def _metrics(self, address: Address, duration: timedelta) -> tuple[ClusterInfo, MetricsReport]:
        window = self.window(duration)
        aws, _ = locate(self.aws, self.targets, address)
        info = describe_resource(aws.rds(), address.cluster, address.kind)
        return info, metrics_of(aws, info, window)


def metrics_of(aws: AwsClients, info: ClusterInfo, window: Window) -> MetricsReport:
    """The seven metrics of the cluster (DBClusterIdentifier, else its members summed) or of the
    DB instance (DBInstanceIdentifier)."""
    return resource_metrics(aws.cloudwatch(), info, window)
