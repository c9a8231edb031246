"""FilterLogEvents against moto's server: every page, every stream, and the event cap."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.cloudwatch_logs import LogScan
from bot.adapters.aws.errors import LogGroupMissing
from bot.domain.cluster import iam_log_group
from bot.domain.window import Window
from bot.sandbox.seed_aws import Failure, format_line, put_lines


def seed_streams(aws: AwsClients, now: datetime, per_stream: list[int]) -> None:
    for n, count in enumerate(per_stream):
        lines = [
            (
                now - timedelta(minutes=50) + timedelta(milliseconds=i * 97 + n),
                format_line(Failure(now - timedelta(minutes=50), f"user{n}", "InvalidToken")),
            )
            for i in range(count)
        ]
        put_lines(aws.logs(), iam_log_group("big-db"), f"big-db-{n + 1}", lines)


def test_reads_every_page_of_every_stream(aws: AwsClients, now: datetime) -> None:
    seed_streams(aws, now, [6_000, 5_000, 1_500])
    scan = LogScan(aws.logs(), iam_log_group("big-db"), Window(now - timedelta(hours=1), now))
    events = list(scan)
    assert len(events) == 12_500
    assert scan.pages_read >= 2
    assert not scan.truncated
    streams = {message.split("'")[1] for _, message in events}
    assert streams == {"user0", "user1", "user2"}


def test_stops_at_the_cap_and_says_so(aws: AwsClients, now: datetime) -> None:
    seed_streams(aws, now, [3_000, 3_000])
    scan = LogScan(
        aws.logs(), iam_log_group("big-db"), Window(now - timedelta(hours=1), now), cap=4_000
    )
    assert len(list(scan)) == 4_000
    assert scan.truncated


def test_window_is_half_open(aws: AwsClients, now: datetime) -> None:
    start = now - timedelta(minutes=10)
    end = now - timedelta(minutes=5)
    lines = [
        (t, format_line(Failure(t, "u", "InvalidToken")))
        for t in (start - timedelta(milliseconds=1), start, end - timedelta(milliseconds=1), end)
    ]
    put_lines(aws.logs(), iam_log_group("edge-db"), "s", lines)
    events = list(LogScan(aws.logs(), iam_log_group("edge-db"), Window(start, end)))
    assert [ts for ts, _ in events] == [
        int(start.timestamp() * 1000),
        int(end.timestamp() * 1000) - 1,
    ]


def test_missing_log_group(aws: AwsClients, now: datetime) -> None:
    with pytest.raises(LogGroupMissing):
        list(LogScan(aws.logs(), iam_log_group("nothing"), Window(now - timedelta(hours=1), now)))


def test_read_newest_returns_exactly_the_newest_events(aws: AwsClients, now: datetime) -> None:
    import random

    from bot.adapters.aws.cloudwatch_logs import read_newest

    rng = random.Random(5)
    times = sorted(now - timedelta(seconds=rng.uniform(60, 3 * 24 * 3600)) for _ in range(300))
    lines = [(t, format_line(Failure(t, f"u{i}", "InvalidToken"))) for i, t in enumerate(times)]
    put_lines(aws.logs(), iam_log_group("wide-db"), "s1", lines)
    window = Window(now - timedelta(days=7), now)
    newest = read_newest(aws.logs(), iam_log_group("wide-db"), window, cap=100)
    read = [line for page in newest.pages for line in page]
    assert read == [line for _, line in lines[-100:]]  # the newest 100, oldest first
    assert newest.truncated
    assert newest.covered_from <= times[-100]
    everything = read_newest(aws.logs(), iam_log_group("wide-db"), window, cap=1000)
    assert not everything.truncated
    assert len([line for page in everything.pages for line in page]) == 300
