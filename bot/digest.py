"""One digest tick: watches → metrics of every watched cluster → alert states → outbox.

The alert decisions are pure (bot/domain/alerts.py); this module only gathers their inputs and
writes their outputs, states and digests together in one transaction.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.cloudwatch_metrics import fetch_all_metrics
from bot.adapters.aws.errors import AwsError
from bot.adapters.aws.rds import describe_cluster
from bot.adapters.aws.targets import Targets
from bot.adapters.store.fence import Fence
from bot.adapters.store.repo import Digest, StateKey, Store
from bot.domain.access import AccessPolicy
from bot.domain.address import parse_address
from bot.domain.alerts import AlertState, Notice, NoticeKind, observe, step
from bot.domain.chart_spec import DigestChart, digest_chart, fetch_span
from bot.domain.metrics import FAMILY_METRICS, METRICS_DELAY, Series, window_counts
from bot.domain.records import Family
from bot.domain.summary import FailureSummary
from bot.domain.watches import Watch
from bot.domain.window import Window
from bot.ops.isolation import TIMED_OUT, Failed, each_alone
from bot.ops.telemetry import DIGEST_PARTS_FAILED
from bot.services.cluster_identity import ClusterIdentity
from bot.services.queries import read_log_summary
from bot.services.watches import Skipped, deliverable
from bot.views.digest import ClusterNotices, digest_blocks

DIGEST_LOG_EVENT_CAP = 20_000
# What fails one place's metrics or one cluster's log detail, and no other's.
AWS_FAILURES = (AwsError, BotoCoreError, ClientError)
# For the log detail of all of a tick's digests: one without its detail beats one that is late.
DETAIL_BUDGET_SECONDS = 15.0
LogDetail = tuple[FailureSummary | None, bool | None]  # the summary; whether the export is on
# Notices whose digest carries a chart of the family: news of a breach, not repeats or recoveries.
CHARTED = frozenset({NoticeKind.FIRING, NoticeKind.ESCALATED})
ChartKey = tuple[str, str, Family]  # channel, cluster, family
log = logging.getLogger(__name__)


@dataclass
class TickResult:
    evaluated: Window | None = None
    clusters: int = 0
    notices: list[tuple[Watch, Notice]] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  # watches this tick left out, and why


def floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


class DigestRunner:
    def __init__(
        self,
        aws: AwsClients,
        store: Store,
        config_watches: Sequence[Watch] = (),
        *,
        metrics_delay: timedelta = METRICS_DELAY,
        clock: Callable[[], datetime],
        targets: Targets | None = None,
        detail_budget_seconds: float = DETAIL_BUDGET_SECONDS,
        policy: AccessPolicy | None = None,
    ) -> None:
        self.aws = aws
        self.targets = targets
        self.identity = ClusterIdentity(targets)
        # Where a cluster's digests may go (the read rule), whenever and wherever its watch was made.
        self.policy = policy or AccessPolicy()
        self.detail_budget_seconds = detail_budget_seconds
        self.store = store
        self.config_watches = tuple(config_watches)
        self.metrics_delay = metrics_delay
        self.clock = clock

    def watches(self) -> list[Watch]:
        return [*self.config_watches, *self.store.list_watches()]

    def tick(self, now: datetime | None = None, *, fence: Fence | None = None) -> TickResult:
        now = now or self.clock()
        self.store.write_held_audit()  # a process that answers commands too: the store is back
        watches = self.watches()
        states = self.store.alert_states()
        # A watch left out keeps its states: it is served again once its channel may read it.
        stale = sorted({key for key, _ in states} - {w.key for w in watches})
        watches, skipped = deliverable(watches, self.policy, self.identity)
        _log_skipped(skipped)
        if not watches:
            if stale:
                self.store.commit_tick({}, [], now, stale_keys=stale, fence=fence)
            return TickResult(skipped=skipped)
        # Metrics arrive late: evaluate windows that ended `metrics_delay` ago.
        end = floor_minute(now - self.metrics_delay)
        thresholds = [t for w in watches for t in w.thresholds]
        window = Window(end - max(t.lookback for t in thresholds), end)
        clusters = sorted({w.cluster for w in watches})
        # One fetch serves the thresholds and the digests' charts, which look further back.
        metrics = self._metrics(clusters, Window(end - fetch_span(thresholds), end))
        silences = self.store.active_silences(now)

        changed: dict[StateKey, AlertState] = {}
        charts: dict[ChartKey, DigestChart] = {}
        result = TickResult(evaluated=window, clusters=len(clusters), skipped=skipped)
        for watch in watches:
            if watch.cluster not in metrics:
                continue  # its place could not be found or read this tick (logged)
            for threshold in watch.thresholds:
                series = metrics[watch.cluster].get(FAMILY_METRICS[threshold.family], Series())
                counts = window_counts(series, end, threshold.window, threshold.periods)
                key = (watch.key, threshold.family)
                before = states.get(key, AlertState())
                after, notice = step(
                    before,
                    threshold,
                    observe(threshold, counts, end),
                    now,
                    repeat=watch.repeat,
                    send_resolved=watch.send_resolved,
                    silenced=parse_address(watch.cluster).named_in(silences),
                )
                if after != before:
                    changed[key] = after
                if notice is not None:
                    result.notices.append((watch, notice))
                    if notice.kind in CHARTED:
                        charts[(watch.channel, watch.cluster, threshold.family)] = digest_chart(
                            watch.cluster, threshold, series, end
                        )

        digests = self._digests(result.notices, end, charts)
        result.outbox_ids = self.store.commit_tick(
            changed, digests, now, stale_keys=stale, fence=fence
        )
        if result.notices:
            log.info(
                "tick %s: %d notices, %d digests",
                end.isoformat(),
                len(result.notices),
                len(digests),
            )
        return result

    def _clients(self, key: str) -> tuple[AwsClients, str]:
        """The clients of the place holding a watched cluster (`prod-db` or `acct/region/prod-db`),
        and the cluster's own identifier."""
        address = parse_address(key)
        if self.targets is None:
            return self.aws, address.cluster
        return self.targets.locate(address, self.aws)[0], address.cluster

    def _metrics(self, keys: list[str], window: Window) -> dict[str, dict[str, Series]]:
        """All watched clusters' metrics: ceil(7·N/500) GetMetricData calls per place, the places
        at once. A place that cannot be read (denied, unreachable, no answer before botocore's
        timeouts) is left out: its watches are skipped this tick, neither fired nor resolved."""
        by_place: dict[int, tuple[AwsClients, list[tuple[str, str]]]] = {}
        for key in keys:
            try:
                clients, cluster = self._clients(key)
            except AWS_FAILURES as error:
                _failed_alone("metrics", key, Failed(type(error).__name__, error))
                continue
            by_place.setdefault(id(clients), (clients, []))[1].append((key, cluster))
        fetched = each_alone(
            {
                place: functools.partial(_place_metrics, clients, [c for _, c in pairs], window)
                for place, (clients, pairs) in by_place.items()
            },
            alone=AWS_FAILURES,
        )
        out: dict[str, dict[str, Series]] = {}
        for place, (_, pairs) in by_place.items():
            result = fetched[place]
            if isinstance(result, Failed):
                _failed_alone("metrics", ", ".join(key for key, _ in pairs), result)
                continue
            for key, cluster in pairs:
                out[key] = result[cluster]
        return out

    def _digests(
        self,
        notices: list[tuple[Watch, Notice]],
        end: datetime,
        charts: dict[ChartKey, DigestChart],
    ) -> list[Digest]:
        by_channel: dict[str, dict[str, list[Notice]]] = defaultdict(lambda: defaultdict(list))
        for watch, notice in notices:
            by_channel[watch.channel][watch.cluster].append(notice)
        starts = {  # where the log detail of a cluster with news of a breach begins
            (channel, cluster): end - max(n.threshold.window for n in active)
            for channel, clusters in by_channel.items()
            for cluster, cluster_notices in clusters.items()
            if (active := [n for n in cluster_notices if n.kind is not NoticeKind.RESOLVED])
        }
        details = self._log_details({(c, start) for (_, c), start in starts.items()}, end)
        log_window = ""
        digests = []
        for channel, clusters in by_channel.items():
            items = []
            for cluster, cluster_notices in sorted(clusters.items()):
                summary: FailureSummary | None = None
                export: bool | None = None
                start = starts.get((channel, cluster))
                if start is not None:
                    summary, export = details.get((cluster, start), (None, None))
                    log_window = f"{start:%H:%M}–{end:%H:%M} UTC"
                items.append(
                    ClusterNotices(cluster, tuple(cluster_notices), summary, export, log_window)
                )
            text, blocks = digest_blocks(items, end)
            # One chart per digest: the family breaching hardest, relative to its threshold.
            chart = max(
                (charts[k] for k in charts if k[0] == channel and k[1] in clusters),
                key=lambda c: c.breach_ratio,
                default=None,
            )
            digests.append(
                Digest(
                    channel,
                    text,
                    [b.to_dict() for b in blocks],
                    chart.to_json() if chart else None,
                )
            )
        return digests

    def _log_details(
        self, wanted: set[tuple[str, datetime]], end: datetime
    ) -> dict[tuple[str, datetime], LogDetail]:
        """The log detail of each (cluster, start), all at once. Best effort: the digest is owed
        whatever the log says, so a detail that fails, or is not there within the budget, is
        only left out."""
        fetched = each_alone(
            {
                (cluster, start): functools.partial(self._log_summary, cluster, Window(start, end))
                for cluster, start in wanted
            },
            alone=AWS_FAILURES,
            budget=self.detail_budget_seconds,
        )
        details: dict[tuple[str, datetime], LogDetail] = {}
        for (cluster, start), result in fetched.items():
            if isinstance(result, Failed):
                _failed_alone("detail", cluster, result)
            else:
                details[(cluster, start)] = result
        return details

    def _log_summary(self, cluster: str, window: Window) -> LogDetail:
        """Top users, codes and the refused role from the log, when the export is on."""
        clients, name = self._clients(cluster)
        info = describe_cluster(clients.rds(), name)
        if not info.iam_log_export_on:
            return None, False
        return read_log_summary(clients, name, window, DIGEST_LOG_EVENT_CAP), True


def _place_metrics(
    clients: AwsClients, clusters: list[str], window: Window
) -> dict[str, dict[str, Series]]:
    return fetch_all_metrics(clients.cloudwatch(), sorted(set(clusters)), window)


def _log_skipped(skipped: list[Skipped]) -> None:
    """One line a tick for every watch it left out."""
    if skipped:
        log.warning(
            "digest: %d watch(es) left out this tick: %s",
            len(skipped),
            "; ".join(f"{s.watch.cluster} for {s.watch.channel}: {s.reason}" for s in skipped),
        )


def _failed_alone(part: str, what: str, failure: Failed) -> None:
    DIGEST_PARTS_FAILED.labels(part, failure.reason).inc()
    reason = failure.error if failure.reason != TIMED_OUT else "no answer in time"
    log.warning("digest %s of %s left out this tick: %s", part, what, reason)
