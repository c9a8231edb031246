"""Planned log reads against moto's server: the slices come from the metric counts, so a busy
window costs about `cap` events read and a call or two, and every event is read at most once."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.cloudwatch_logs import read_newest
from bot.adapters.aws.cloudwatch_metrics import cluster_metrics
from bot.domain.cluster import iam_log_group
from bot.domain.read_plan import counts_from_report
from bot.domain.window import Window
from bot.sandbox.seed_aws import Failure, create_cluster, put_failures, put_metrics
from bot.services.exact_counts import ExactOptions
from bot.services.queries import QueryService, read_log_summary

PER_SECOND = 10


class FilterCalls:
    """FilterLogEvents calls made through a client, and every event id they returned."""

    def __init__(self, aws: AwsClients) -> None:
        self.calls = 0
        self.ids: Counter[str] = Counter()
        aws.logs().meta.events.register("after-call.logs.FilterLogEvents", self._count)

    def _count(self, parsed: dict[str, Any], **_: Any) -> None:
        self.calls += 1
        self.ids.update(f"{e['logStreamName']}/{e['eventId']}" for e in parsed.get("events", []))

    @property
    def events(self) -> int:
        return sum(self.ids.values())


@pytest.fixture
def busy(aws: AwsClients, now: datetime) -> list[Failure]:
    """An hour at 10 failures a second in two streams; metrics per minute, the newest 3 minutes
    not published yet (CloudWatch's lag)."""
    create_cluster(aws.rds(), "busy-db", iam=True, exports=["iam-db-auth-error"], instances=2)
    failures = [
        Failure(
            now - timedelta(hours=1) + timedelta(milliseconds=100 * i), f"u{i % 7}", "InvalidToken"
        )
        for i in range(3600 * PER_SECOND)
    ]
    put_failures(aws.logs(), "busy-db", failures, streams=2)
    start = now - timedelta(hours=1)
    put_metrics(aws.cloudwatch(), "busy-db", failures, 0, start, now - timedelta(minutes=3))
    return failures


def test_counts_plan_one_read_of_just_the_newest_events(
    aws: AwsClients, now: datetime, busy: list[Failure]
) -> None:
    window = Window(now - timedelta(hours=1), now)
    metrics = cluster_metrics(aws.cloudwatch(), "busy-db", [], window)
    counts = counts_from_report(metrics)
    assert counts is not None
    calls = FilterCalls(aws)
    summary = read_log_summary(aws, "busy-db", window, 3_000, keep_events=True, counts=counts)
    assert summary is not None
    assert summary.events is not None
    newest = [int(f.time.timestamp() * 1000) for f in busy[-3_000:]]
    assert sorted(e.ms for e in summary.events) == newest
    assert summary.truncated
    assert summary.covered_from == busy[-3_000].time
    # Before: the cap's worth read from the window's start and thrown away (a whole 10,000-event
    # page), then halves of slices read and re-read.
    assert all(n == 1 for n in calls.ids.values())
    assert calls.events <= 3_000 * 1.1 + 10
    assert calls.calls <= 2


def test_the_failures_answer_passes_the_metric_counts_to_the_read(
    aws: AwsClients, now: datetime, busy: list[Failure]
) -> None:
    queries = QueryService(
        aws, event_cap=3_000, clock=lambda: now, exact=ExactOptions(read_seconds=0)
    )
    calls = FilterCalls(aws)
    report = queries.failures("busy-db", timedelta(hours=1))
    assert report.summary is not None
    assert report.summary.total == 3_000
    assert report.summary.truncated
    assert all(n == 1 for n in calls.ids.values())
    assert calls.events <= 3_000 * 1.1 + 10
    assert calls.calls <= 2


def test_without_counts_no_event_is_read_twice_either(
    aws: AwsClients, now: datetime, busy: list[Failure]
) -> None:
    calls = FilterCalls(aws)
    window = Window(now - timedelta(hours=1), now)
    newest = read_newest(aws.logs(), iam_log_group("busy-db"), window, 3_000)
    assert [ts for page in newest.event_pages for ts, _ in page] == [
        int(f.time.timestamp() * 1000) for f in busy[-3_000:]
    ]
    assert newest.truncated
    assert all(n == 1 for n in calls.ids.values())
    assert newest.calls == calls.calls <= 4
    assert newest.events_read == calls.events <= 6_000
