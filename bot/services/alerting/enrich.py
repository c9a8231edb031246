"""Stage 4, best effort: what a digest shows beside its notices. Each cluster with news of a
breach gets the log detail of its breaching window (I/O, all at once, within a budget: a digest
without its detail beats one that is late), and each digest the chart of its family breaching
hardest (pure, from the metrics collect read)."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from bot.domain.address import Address
from bot.domain.alerts import CHARTED
from bot.domain.chart_spec import DigestChart, digest_chart
from bot.domain.metrics import FAMILY_METRICS, Series
from bot.domain.summary import FailureSummary
from bot.domain.window import Window
from bot.ops.isolation import Failed, each_alone
from bot.services.alerting.evaluate import Metrics
from bot.services.alerting.group import ChannelDigest, ClusterNotices
from bot.services.alerting.left_out import left_out
from bot.services.alerting.ports import AwsReads

DIGEST_LOG_EVENT_CAP = 20_000
DETAIL_BUDGET_SECONDS = 15.0  # for the log detail of all of a tick's digests
# Notices whose digest carries a chart of the family: news of a breach, not repeats or recoveries.
LogDetail = tuple[FailureSummary | None, bool]  # the summary; whether the export is on
DetailKey = tuple[Address, datetime]  # a cluster, and where its detail's window starts


def detail_start(item: ClusterNotices, end: datetime) -> datetime | None:
    """Where the log detail of a cluster with news of a breach begins: its widest window."""
    breaching = item.breaching
    return end - max(n.threshold.window for n in breaching) if breaching else None


def read_log_details(
    reads: AwsReads, wanted: Iterable[DetailKey], end: datetime, budget: float
) -> dict[DetailKey, LogDetail]:
    """Each wanted detail, all at once. The digest is owed whatever the log says, so a detail
    that fails, or is not there within `budget` seconds, is only left out (logged, counted)."""
    fetched = each_alone(
        {
            (cluster, start): functools.partial(_log_detail, reads, cluster, Window(start, end))
            for cluster, start in wanted
        },
        alone=reads.failures,
        budget=budget,
    )
    details: dict[DetailKey, LogDetail] = {}
    for (cluster, start), result in fetched.items():
        if isinstance(result, Failed):
            left_out("detail", str(cluster), result)
        else:
            details[(cluster, start)] = result
    return details


def _log_detail(reads: AwsReads, cluster: Address, window: Window) -> LogDetail:
    """Top users, codes and the refused role from the log, when the export is on."""
    if not reads.log_export_on(cluster):
        return None, False
    return reads.log_summary(cluster, window, DIGEST_LOG_EVENT_CAP), True


def read_workloads(
    reads: AwsReads, details: Mapping[DetailKey, LogDetail], end: datetime, budget: float
) -> dict[DetailKey, tuple[tuple[str, int], ...]]:
    """The top workloads of each detail that kept its events, in what is left of the budget:
    read after the details, so a slow engine log or EC2 never costs a digest its detail."""
    wanted = {
        key: functools.partial(reads.top_workloads, key[0], Window(key[1], end), summary)
        for key, (summary, _) in details.items()
        if summary is not None and summary.events
    }
    if budget <= 0:
        return {}
    fetched = each_alone(wanted, alone=reads.failures, budget=budget)
    found: dict[DetailKey, tuple[tuple[str, int], ...]] = {}
    for key, result in fetched.items():
        if isinstance(result, Failed):
            left_out("workloads", str(key[0]), result)
        elif result:
            found[key] = tuple(result)
    return found


def with_log_detail(
    digest: ChannelDigest,
    details: Mapping[DetailKey, LogDetail],
    end: datetime,
    workloads: Mapping[DetailKey, tuple[tuple[str, int], ...]] | None = None,
) -> ChannelDigest:
    """The digest with each breaching cluster's detail, where it was read."""
    items = []
    for item in digest.clusters:
        start = detail_start(item, end)
        if start is not None:
            summary, export = details.get((item.cluster, start), (None, None))
            log_window = f"{start:%H:%M}–{end:%H:%M} UTC"
            item = replace(
                item,
                summary=summary,
                log_export_on=export,
                log_window=log_window,
                workloads=(workloads or {}).get((item.cluster, start), ()),
            )
        items.append(item)
    return replace(digest, clusters=tuple(items))


def chart_of(digest: ChannelDigest, history: Metrics, end: datetime) -> DigestChart | None:
    """One chart per digest: of the family breaching hardest, relative to its threshold (of
    equals, the first the tick met), among those that fired or escalated and whose history
    could be read (collect.chart_history; a place that failed it gets no chart, not a short one)."""
    charts = [
        digest_chart(
            item.cluster,
            notice.threshold,
            history[item.cluster].get(FAMILY_METRICS[notice.family], Series()),
            end,
        )
        for item in digest.clusters
        if item.cluster in history
        for notice in item.notices
        if notice.kind in CHARTED
    ]
    return max(charts, key=lambda chart: chart.breach_ratio, default=None)


def enrich(
    reads: AwsReads,
    digests: Sequence[ChannelDigest],
    history: Metrics,
    end: datetime,
    *,
    budget: float = DETAIL_BUDGET_SECONDS,
) -> list[ChannelDigest]:
    wanted = {
        (item.cluster, start)
        for digest in digests
        for item in digest.clusters
        if (start := detail_start(item, end)) is not None
    }
    started = time.monotonic()
    details = read_log_details(reads, wanted, end, budget)
    workloads = read_workloads(reads, details, end, budget - (time.monotonic() - started))
    return [
        replace(
            with_log_detail(digest, details, end, workloads), chart=chart_of(digest, history, end)
        )
        for digest in digests
    ]
