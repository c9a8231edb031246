"""One digest tick: watches → metrics of every watched cluster → alert states → outbox.

The alert decisions are pure (bot/domain/alerts.py); this module only gathers their inputs and
writes their outputs, states and digests together in one transaction.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.aws.clients import AwsClients
from bot.aws.errors import AwsError
from bot.aws.metrics import fetch_all_metrics
from bot.aws.rds import describe_cluster
from bot.aws.targets import Targets
from bot.domain.address import parse_address
from bot.domain.alerts import AlertState, Notice, NoticeKind, observe, step
from bot.domain.chart_spec import DigestChart, digest_chart, fetch_span
from bot.domain.metrics import FAMILY_METRICS, METRICS_DELAY, Series, window_counts
from bot.domain.records import Family
from bot.domain.summary import FailureSummary
from bot.domain.watches import Watch
from bot.domain.window import Window
from bot.service import read_log_summary
from bot.slack.render_digest import ClusterNotices, digest_blocks
from bot.store.repo import Digest, StateKey, Store

DIGEST_LOG_EVENT_CAP = 20_000
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
    ) -> None:
        self.aws = aws
        self.targets = targets
        self.store = store
        self.config_watches = tuple(config_watches)
        self.metrics_delay = metrics_delay
        self.clock = clock

    def watches(self) -> list[Watch]:
        return [*self.config_watches, *self.store.list_watches()]

    def tick(self, now: datetime | None = None) -> TickResult:
        now = now or self.clock()
        watches = self.watches()
        states = self.store.alert_states()
        live_keys = {w.key for w in watches}
        stale = sorted({key for key, _ in states} - live_keys)
        if not watches:
            if stale:
                self.store.commit_tick({}, [], now, stale_keys=stale)
            return TickResult()
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
        result = TickResult(evaluated=window, clusters=len(clusters))
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
                    silenced=parse_address(watch.cluster).cluster in silences,
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
        result.outbox_ids = self.store.commit_tick(changed, digests, now, stale_keys=stale)
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
        """All watched clusters' metrics: ceil(7·N/500) GetMetricData calls per place."""
        by_place: dict[int, tuple[AwsClients, list[tuple[str, str]]]] = {}
        for key in keys:
            try:
                clients, cluster = self._clients(key)
            except AwsError as error:
                log.warning("watch of %s skipped this tick: %s", key, error)
                continue
            by_place.setdefault(id(clients), (clients, []))[1].append((key, cluster))
        out: dict[str, dict[str, Series]] = {}
        for clients, pairs in by_place.values():
            fetched = fetch_all_metrics(clients.cloudwatch(), sorted({c for _, c in pairs}), window)
            for key, cluster in pairs:
                out[key] = fetched[cluster]
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
        enrich_cache: dict[tuple[str, datetime], tuple[FailureSummary | None, bool | None]] = {}
        log_window = ""
        digests = []
        for channel, clusters in by_channel.items():
            items = []
            for cluster, cluster_notices in sorted(clusters.items()):
                active = [n for n in cluster_notices if n.kind is not NoticeKind.RESOLVED]
                summary: FailureSummary | None = None
                export: bool | None = None
                if active:
                    start = end - max(n.threshold.window for n in active)
                    cache_key = (cluster, start)
                    if cache_key not in enrich_cache:
                        enrich_cache[cache_key] = self._log_summary(cluster, Window(start, end))
                    summary, export = enrich_cache[cache_key]
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

    def _log_summary(
        self, cluster: str, window: Window
    ) -> tuple[FailureSummary | None, bool | None]:
        """Top users, codes and the refused role from the log, when the export is on.

        Best effort: the digest is owed whatever the log says, so AWS errors here only drop the detail.
        """
        try:
            clients, name = self._clients(cluster)
            info = describe_cluster(clients.rds(), name)
            if not info.iam_log_export_on:
                return None, False
            return read_log_summary(clients, name, window, DIGEST_LOG_EVENT_CAP), True
        except AwsError as error:
            log.warning("digest detail for %s unavailable: %s", cluster, error)
            return None, None
