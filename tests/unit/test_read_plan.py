"""The planned newest-first read: whatever the counts say and wherever the events really are,
exactly the newest `cap` events, each read at most once, and `truncated`/`covered_from` true."""

from __future__ import annotations

import random
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.metrics import MetricsReport, Series
from bot.domain.read_plan import (
    Event,
    EventCounts,
    counts_from_report,
    epoch_ms,
    from_ms,
    read_newest_events,
)

MINUTE = 60_000


@dataclass
class FakeLog:
    """A log group in memory that counts what each FilterLogEvents-like read returns."""

    events: list[Event]  # (ms, unique message)
    page_size: int = 10_000
    shuffle: random.Random | None = None
    reads: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    probes: int = 0

    def __post_init__(self) -> None:
        self.events.sort()
        self._times = [ms for ms, _ in self.events]

    def read(self, a: int, b: int) -> Iterator[Sequence[Event]]:
        found = self.events[bisect_left(self._times, a) : bisect_left(self._times, b)]
        if self.shuffle is not None:
            self.shuffle.shuffle(found)  # no order across streams is promised
        self.calls += 1
        for offset in range(0, max(len(found), 1), self.page_size):
            page = found[offset : offset + self.page_size]
            self.reads.update(message for _, message in page)
            yield page

    def any_event(self, a: int, b: int) -> bool:
        self.probes += 1
        return bisect_left(self._times, a) < bisect_left(self._times, b)


def check(log: FakeLog, start: int, end: int, cap: int, counts: EventCounts | None) -> None:
    result = read_newest_events(start, end, cap, log.read, log.any_event, counts)
    inside = sorted((e for e in log.events if start <= e[0] < end), key=lambda e: e[0])
    kept = result.events
    # Exactly the newest min(cap, n), oldest first; ties at the boundary may go either way.
    assert len(kept) == min(cap, len(inside))
    assert [ms for ms, _ in kept] == [ms for ms, _ in inside[len(inside) - len(kept) :]]
    assert len({m for _, m in kept}) == len(kept)
    # Never an event read twice, never one outside the window; slices disjoint, newest first.
    assert all(n == 1 for n in log.reads.values())
    assert set(log.reads) <= {m for _, m in inside}
    for (a, b), (c, d) in zip(result.slices, result.slices[1:], strict=False):
        assert c < d == a < b
    assert all(start <= a < b <= end for a, b in result.slices)
    assert result.events_read == sum(log.reads.values())
    assert log.probes <= 1
    assert result.truncated == (len(inside) > cap)
    if result.truncated:
        assert result.covered_from_ms is not None
        assert all(ms >= result.covered_from_ms for ms, _ in kept)
        kept_names = {m for _, m in kept}
        assert all(m in kept_names for ms, m in inside if ms > result.covered_from_ms)
    else:
        assert result.covered_from_ms is None


times = st.integers(min_value=0, max_value=120 * MINUTE - 1)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[FakeLog, int, int, int, EventCounts | None]:
    start = draw(st.integers(0, 30 * MINUTE))
    end = draw(st.integers(start + 1, 120 * MINUTE))
    # Events clustered on a few moments (bursts, ties) or spread.
    moments = draw(st.lists(times, min_size=1, max_size=6))
    stamps = draw(
        st.lists(
            st.one_of(times, st.sampled_from(moments), st.integers(0, 3).map(lambda x: end - x)),
            max_size=300,
        )
    )
    log = FakeLog(
        [(ms, f"e{i}") for i, ms in enumerate(stamps)],
        page_size=draw(st.integers(1, 50)),
        shuffle=random.Random(draw(st.integers(0, 9))),
    )
    cap = draw(st.integers(0, 320))
    kind = draw(st.sampled_from(["none", "true", "noisy", "any"]))
    counts: EventCounts | None = None
    if kind != "none":
        period = draw(st.sampled_from([1_000, MINUTE, 5 * MINUTE, 60 * MINUTE]))
        origin = start - start % period - draw(st.integers(0, 2)) * period
        buckets = (end - origin) // period + 1
        lag = draw(st.integers(0, buckets))
        true = Counter((ms - origin) // period for ms, _ in log.events)
        values: list[float] = []
        for i in range(buckets - lag):
            if kind == "true":
                values.append(float(true[i]))
            elif kind == "noisy":
                values.append(true[i] * draw(st.floats(0, 10)) + draw(st.integers(0, 3)))
            else:
                values.append(draw(st.one_of(st.floats(0, 1e9), st.floats(allow_nan=True))))
        counts = EventCounts(origin, period, tuple(values))
    return log, start, end, cap, counts


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_any_counts_any_events_any_cap_give_exactly_the_newest(
    scenario: tuple[FakeLog, int, int, int, EventCounts | None],
) -> None:
    check(*scenario)


def uniform(per_second: int, seconds: int, end: int) -> list[Event]:
    n, span = per_second * seconds, seconds * 1000
    return [(end - span + i * span // n, f"e{i}") for i in range(n)]


def exact_counts(log: FakeLog, origin: int, period: int, end: int, lag: int) -> EventCounts:
    buckets = Counter((ms - origin) // period for ms, _ in log.events)
    known = (end - origin) // period - lag
    return EventCounts(origin, period, tuple(float(buckets[i]) for i in range(known)))


def test_one_planned_slice_at_a_thousand_a_second_with_lagging_minute_counts() -> None:
    end = 60 * MINUTE
    log = FakeLog(uniform(1000, 3600, end))
    counts = exact_counts(log, 0, MINUTE, end, lag=3)  # the newest 3 minutes not in yet
    result = read_newest_events(0, end, 100_000, log.read, log.any_event, counts)
    assert len(result.events) == 100_000
    assert result.truncated
    # The old read walked the window from its start and re-read slices: 6x the events kept.
    assert result.events_read <= 110_000
    assert len(result.slices) <= 2


def test_coarse_periods_place_the_cap_inside_a_period() -> None:
    end = 24 * 60 * MINUTE
    log = FakeLog(uniform(12, 24 * 3600, end))  # ~1,000,000 events a day
    counts = exact_counts(log, 0, 5 * MINUTE, end, lag=1)
    result = read_newest_events(0, end, 100_000, log.read, log.any_event, counts)
    assert len(result.events) == 100_000
    assert result.events_read <= 110_000
    assert len(result.slices) <= 2


def test_without_counts_the_rate_is_learnt_from_the_newest_minute() -> None:
    end = 60 * MINUTE
    log = FakeLog(uniform(1000, 3600, end))
    result = read_newest_events(0, end, 100_000, log.read, log.any_event, None)
    assert len(result.events) == 100_000
    assert result.events_read <= 110_000
    assert len(result.slices) <= 3


def test_without_counts_an_empty_window_is_read_in_a_few_growing_slices() -> None:
    end = 14 * 24 * 60 * MINUTE
    log = FakeLog([])
    result = read_newest_events(0, end, 100_000, log.read, log.any_event, None)
    assert result.events == []
    assert not result.truncated
    assert len(result.slices) <= 5
    lengths = [b - a for a, b in result.slices]
    assert lengths[0] == MINUTE


def test_counts_far_too_high_cost_a_few_calls_not_one_per_slice_of_a_second() -> None:
    end = 24 * 60 * MINUTE
    log = FakeLog([(end - 1, "last"), (5, "first")])
    counts = EventCounts(0, MINUTE, tuple(1e9 for _ in range(24 * 60)))
    result = read_newest_events(0, end, 10, log.read, log.any_event, counts)
    assert [m for _, m in result.events] == ["first", "last"]
    assert len(result.slices) <= 40


def test_counts_from_a_report_know_up_to_the_newest_point() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    minute = [datetime(2026, 1, 1, 0, m, tzinfo=UTC) for m in range(10)]
    report = MetricsReport(
        "db",
        start,
        datetime(2026, 1, 1, 0, 10, tzinfo=UTC),
        60,
        "DBClusterIdentifier",
        series={
            "IamDbAuthConnectionRequests": Series(tuple(minute[:7]), (5.0,) * 7),
            "IamDbAuthConnectionFailure": Series((minute[2], minute[4]), (3.0, 4.0)),
        },
    )
    counts = counts_from_report(report)
    assert counts == EventCounts(epoch_ms(start), 60_000, (0, 0, 3, 0, 4, 0, 0))
    empty = MetricsReport("db", start, minute[9], 60, "DBClusterIdentifier", series={})
    assert counts_from_report(empty) is None


def test_periods_within_the_metrics_delay_of_the_read_are_not_known_yet() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    points = tuple(start + timedelta(minutes=5 * i) for i in range(12))
    report = MetricsReport(
        "db",
        start,
        start + timedelta(hours=1),
        300,
        "DBClusterIdentifier",
        series={"IamDbAuthConnectionFailure": Series(points, (10.0,) * 12)},
    )
    # Read at 01:00: the period 00:55-01:00 may still grow (and 00:50-00:55 is settled).
    counts = counts_from_report(report, start + timedelta(hours=1))
    assert counts is not None
    assert counts.counts == (10.0,) * 11
    assert counts_from_report(report) == EventCounts(epoch_ms(start), 300_000, (10.0,) * 12)


def test_a_partly_published_newest_period_does_not_send_the_read_too_far() -> None:
    end = 24 * 60 * MINUTE
    log = FakeLog(uniform(12, 24 * 3600, end))
    full = exact_counts(log, 0, 5 * MINUTE, end, lag=0)
    # The newest 5-minute point holds only its first 2 minutes: the rest is not published yet.
    partial = EventCounts(0, 5 * MINUTE, (*full.counts[:-1], full.counts[-1] * 2 / 5))
    report = MetricsReport(
        "db",
        from_ms(0),
        from_ms(end),
        300,
        "DBClusterIdentifier",
        series={
            "IamDbAuthConnectionFailure": Series(
                tuple(from_ms(i * 5 * MINUTE) for i in range(len(partial.counts))),
                partial.counts,
            )
        },
    )
    counts = counts_from_report(report, from_ms(end))
    result = read_newest_events(0, end, 3_000, log.read, log.any_event, counts)
    assert len(result.events) == 3_000
    assert result.events_read <= 3_300


def test_a_spike_newer_than_the_published_counts_is_read_a_minute_at_a_time() -> None:
    end = 60 * MINUTE
    # Quiet for 57 minutes, then 1,000 a second for the 3 minutes CloudWatch has not published.
    log = FakeLog(uniform(1000, 180, end))
    counts = EventCounts(0, MINUTE, (0.0,) * 57)
    result = read_newest_events(0, end, 100, log.read, log.any_event, counts)
    assert len(result.events) == 100
    assert result.events_read <= 60_000  # the newest minute, not the whole spike
