"""The enrich stage: each breaching cluster's log detail (best effort, within a budget) and one
chart per digest."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

from prometheus_client import REGISTRY

from bot.domain.address import parse_address
from bot.domain.alerts import Notice, NoticeKind, Threshold
from bot.domain.records import Family
from bot.domain.summary import FailureSummary
from bot.services.alerting.enrich import (
    DIGEST_LOG_EVENT_CAP,
    chart_of,
    detail_start,
    enrich,
    read_log_details,
    with_log_detail,
)
from bot.services.alerting.evaluate import Metrics
from bot.services.alerting.group import ChannelDigest, ClusterNotices
from tests.unit.alerting.fakes import END, FIVE_IN_5M, ONE_IN_15M, MemoryAws, breaching

PROD, ORDERS = parse_address("prod-db"), parse_address("orders-db")


def notice(kind: NoticeKind, threshold: Threshold = FIVE_IN_5M, count: int = 15) -> Notice:
    return Notice(kind, threshold.family, count, threshold, END, END)


def digest(*items: ClusterNotices) -> ChannelDigest:
    return ChannelDigest("C0ALERTS01", items)


def failed_details() -> float:
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "iamauth_digest_parts_failed"
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels["part"] == "detail"
    )


def test_the_detail_covers_the_widest_breaching_window_and_no_resolved_cluster() -> None:
    firing = ClusterNotices(
        PROD, (notice(NoticeKind.FIRING), notice(NoticeKind.REPEAT, ONE_IN_15M))
    )
    assert detail_start(firing, END) == END - timedelta(minutes=15)
    assert detail_start(ClusterNotices(PROD, (notice(NoticeKind.RESOLVED),)), END) is None


def test_each_breaching_cluster_gets_its_detail_where_it_was_read() -> None:
    summary = FailureSummary()
    start = END - timedelta(minutes=5)
    read = ClusterNotices(PROD, (notice(NoticeKind.FIRING),))
    unread = ClusterNotices(ORDERS, (notice(NoticeKind.FIRING),))
    resolved = ClusterNotices(parse_address("beta-db"), (notice(NoticeKind.RESOLVED),))
    enriched = with_log_detail(
        digest(read, unread, resolved), {(PROD, start): (summary, True)}, END
    )
    first, second, third = enriched.clusters
    window = f"{start:%H:%M}–{END:%H:%M} UTC"
    assert (first.summary, first.log_export_on, first.log_window) == (summary, True, window)
    assert (second.summary, second.log_export_on, second.log_window) == (None, None, window)
    assert third == resolved


def test_a_cluster_without_the_export_gets_no_log_read() -> None:
    aws = MemoryAws(export_off={ORDERS})
    start = END - timedelta(minutes=5)
    details = read_log_details(aws, {(PROD, start), (ORDERS, start)}, END, budget=5.0)
    assert details == {(PROD, start): (None, True), (ORDERS, start): (None, False)}
    assert [(c, w.start, w.end, cap) for c, w, cap in aws.log_reads] == [
        ("prod-db", start, END, DIGEST_LOG_EVENT_CAP)
    ]


def test_a_failed_or_late_detail_is_only_left_out_and_counted() -> None:
    orders_summary = FailureSummary()
    slow, broken = parse_address("slow-db"), parse_address("broken-db")
    aws = MemoryAws(summaries={ORDERS: orders_summary}, log_fails={broken}, log_seconds={slow: 3.0})
    start = END - timedelta(minutes=5)
    before = failed_details()
    began = time.monotonic()
    details = read_log_details(aws, {(ORDERS, start), (slow, start), (broken, start)}, END, 0.5)
    assert time.monotonic() - began < 2.5  # the budget, not the slow read
    assert details == {(ORDERS, start): (orders_summary, True)}
    assert failed_details() - before == 2


def test_the_chart_is_of_the_family_breaching_hardest_among_news_of_a_breach() -> None:
    metrics: Metrics = {PROD: breaching(), ORDERS: breaching(Family.INSUFFICIENT_PERMISSIONS)}
    prod = ClusterNotices(PROD, (notice(NoticeKind.FIRING, count=15),))  # 15 / 5
    orders = ClusterNotices(ORDERS, (notice(NoticeKind.ESCALATED, ONE_IN_15M, count=45),))  # 45 / 1
    chart = chart_of(digest(prod, orders), metrics, END)
    assert chart is not None
    assert (chart.cluster, chart.family, chart.breach_ratio) == (
        ORDERS,
        Family.INSUFFICIENT_PERMISSIONS,
        45.0,
    )
    repeated = replace(orders, notices=(notice(NoticeKind.REPEAT, ONE_IN_15M, count=45),))
    only_prod = chart_of(digest(prod, repeated), metrics, END)
    assert only_prod is not None
    assert only_prod.cluster == PROD
    assert chart_of(digest(repeated), metrics, END) is None


def test_of_two_charts_breaching_alike_the_first_met_is_drawn() -> None:
    metrics: Metrics = {PROD: breaching(), ORDERS: breaching()}
    items = [ClusterNotices(c, (notice(NoticeKind.FIRING),)) for c in (ORDERS, PROD)]
    chart = chart_of(digest(*items), metrics, END)
    assert chart is not None
    assert chart.cluster == ORDERS


def test_enrich_gives_every_digest_its_detail_and_its_chart() -> None:
    aws = MemoryAws()
    metrics: Metrics = {PROD: breaching()}
    [enriched] = enrich(
        aws, [digest(ClusterNotices(PROD, (notice(NoticeKind.FIRING),)))], metrics, END
    )
    assert enriched.chart is not None
    assert enriched.chart.cluster == PROD
    assert enriched.clusters[0].log_export_on is True
