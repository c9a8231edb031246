"""The PNG charts: size, not blank, every family drawn, zero data still titled, thread-safe."""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.domain.address import Address
from bot.domain.alerts import Threshold
from bot.domain.chart_spec import CHART_SPAN, DigestChart, fetch_span, rolling_counts
from bot.domain.chart_spec import digest_chart as digest_spec
from bot.domain.metrics import (
    FAMILY_METRICS,
    MetricsReport,
    Series,
    align_to_period,
    choose_period,
    resample,
)
from bot.domain.records import Family
from bot.views.chart_drawing import (
    FAMILY_COLOURS,
    REQUESTS_COLOUR,
    THRESHOLD_COLOUR,
    draw_digest_chart,
    draw_metrics_chart,
    metrics_alt_text,
    per_period,
)
from tests.chart_checks import assert_chart, colour_pixels, pixels

END = datetime(2025, 8, 12, 3, 0, tzinfo=UTC)
FAMILY_ALPHA = 0.9  # the stacked areas' alpha in bot/views/chart_drawing.py


def report_with_data(window: timedelta, seed: int = 1) -> MetricsReport:
    """A cluster's metrics with random traffic, failures of every family, and some gaps."""
    rng = random.Random(seed)
    period = choose_period(window)
    start, end = align_to_period(END - window, END, period)
    slots = int((end - start).total_seconds() // period)
    times = tuple(start + timedelta(seconds=period * i) for i in range(slots) if rng.random() > 0.1)
    failures = {
        metric: tuple(float(rng.randint(1, 6) if rng.random() < 0.4 else 0) for _ in times)
        for metric in FAMILY_METRICS.values()
    }
    successes = tuple(float(rng.randint(30, 60) * period // 60) for _ in times)
    failed = tuple(sum(column) for column in zip(*failures.values(), strict=True))
    series = {m: Series(times, v) for m, v in failures.items()}
    series["IamDbAuthConnectionSuccess"] = Series(times, successes)
    series["IamDbAuthConnectionFailure"] = Series(times, failed)
    series["IamDbAuthConnectionRequests"] = Series(
        times, tuple(s + f for s, f in zip(successes, failed, strict=True))
    )
    return MetricsReport("prod-db", start, end, period, "DBClusterIdentifier", (), series)


def a_digest_chart() -> DigestChart:
    rng = random.Random(3)
    counts = tuple(rng.randint(0, 4) for _ in range(40)) + tuple(
        rng.randint(12, 30) for _ in range(20)
    )
    return DigestChart(
        Address("prod-db"), Family.INVALID_TOKEN, 10, timedelta(minutes=5), END, counts
    )


def without(report: MetricsReport, family: Family) -> MetricsReport:
    """The same report with no failures of `family`."""
    metric = FAMILY_METRICS[family]
    zeros = Series(report.series[metric].timestamps, (0.0,) * len(report.series[metric].values))
    return replace(report, series={**report.series, metric: zeros})


@pytest.mark.parametrize("window", [timedelta(hours=1), timedelta(hours=24), timedelta(days=7)])
def test_metrics_chart_draws_requests_and_every_family(window: timedelta) -> None:
    report = report_with_data(window)
    image = assert_chart(draw_metrics_chart(report), 1200, 600)
    assert colour_pixels(image, REQUESTS_COLOUR) > 0
    for family in FAMILY_METRICS:
        colour = FAMILY_COLOURS[family]
        drawn = colour_pixels(image, colour, FAMILY_ALPHA)
        # Without its failures only the family's legend swatch is left in its colour.
        swatch = colour_pixels(
            pixels(draw_metrics_chart(without(report, family))), colour, FAMILY_ALPHA
        )
        assert drawn > 2 * swatch > 0, family


def test_a_chart_of_no_data_still_has_its_title_and_axes() -> None:
    empty = MetricsReport("empty-db", END - timedelta(hours=1), END, 60, "DBClusterIdentifier")
    image = assert_chart(draw_metrics_chart(empty), 1200, 600)
    data = pixels(draw_metrics_chart(report_with_data(timedelta(hours=1))))
    assert not np.array_equal(image, data)
    # The title band (the top 40 px) still carries the title.
    assert np.count_nonzero(image[:40].max(axis=2) < 100) > 500


def test_digest_chart_draws_counts_and_the_threshold_line() -> None:
    image = assert_chart(draw_digest_chart(a_digest_chart()), 900, 360)
    assert colour_pixels(image, THRESHOLD_COLOUR) > 0
    assert colour_pixels(image, FAMILY_COLOURS[Family.INVALID_TOKEN]) > 0


def test_digest_chart_of_zeros_still_draws_the_threshold() -> None:
    chart = DigestChart(
        Address("prod-db"), Family.THROTTLING, 5, timedelta(minutes=5), END, (0,) * 60
    )
    image = assert_chart(draw_digest_chart(chart), 900, 360)
    assert colour_pixels(image, THRESHOLD_COLOUR) > 0


def test_charts_drawn_in_parallel_threads_match_serial_drawing() -> None:
    reports = [report_with_data(timedelta(hours=h), seed=h) for h in (1, 6, 24)]
    serial = [draw_metrics_chart(r) for r in reports] + [draw_digest_chart(a_digest_chart())]
    with ThreadPoolExecutor(max_workers=6) as pool:
        jobs = [pool.submit(draw_metrics_chart, r) for r in reports * 2]
        jobs += [pool.submit(draw_digest_chart, a_digest_chart()) for _ in range(2)]
        parallel = [job.result() for job in jobs]
    assert parallel == serial[:3] * 2 + serial[3:] * 2


def test_digest_chart_spec_survives_json() -> None:
    chart = a_digest_chart()
    stored = json.loads(json.dumps(chart.to_json()))
    assert DigestChart.from_json(stored) == chart
    assert chart.times[-1] == END
    assert chart.times[1] - chart.times[0] == timedelta(minutes=1)


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "something-else"},
        {"kind": "digest", "cluster": "x"},
        {**a_digest_chart().to_json(), "end": "2025-08-12T03:00:00"},
        {**a_digest_chart().to_json(), "family": "NoSuchFamily"},
    ],
)
def test_digest_chart_spec_refuses_what_it_does_not_understand(bad: dict[str, object]) -> None:
    with pytest.raises((KeyError, ValueError)):
        DigestChart.from_json(bad)


minutes = st.dictionaries(st.integers(-200, 10), st.integers(0, 50), max_size=60)


@settings(max_examples=60, deadline=None)
@given(points=minutes, window=st.sampled_from([1, 5, 15, 60]))
def test_rolling_counts_match_counting_each_window(points: dict[int, int], window: int) -> None:
    series = Series(
        tuple(END + timedelta(minutes=m) for m in sorted(points)),
        tuple(float(points[m]) for m in sorted(points)),
    )
    step = timedelta(minutes=1)
    counts = rolling_counts(series, END, timedelta(minutes=window), CHART_SPAN, step)
    steps = int(CHART_SPAN / step)
    expected = []
    for i in range(steps):
        ends = END - step * (steps - 1 - i)
        expected.append(sum(v for m, v in points.items() if -window <= (m - _minute(ends)) < 0))
    assert counts == expected


@settings(max_examples=100, deadline=None)
@given(
    minutes_late=st.integers(0, 60 * 24 * 14),
    period=st.sampled_from([60, 300, 900, 3600]),
    periods=st.integers(1, 360),
)
@example(minutes_late=0, period=300, periods=289)  # 24h aligned: 12 points fell a bucket early
def test_one_point_per_period_lands_in_its_own_period(
    minutes_late: int, period: int, periods: int
) -> None:
    """Steady traffic draws a flat line: no point is rounded into the period before its own."""
    start = END - timedelta(minutes=minutes_late)
    start, _ = align_to_period(start, start + timedelta(seconds=1), period)
    times = tuple(start + timedelta(seconds=period * i) for i in range(periods))
    end = start + timedelta(seconds=period * periods)
    assert resample(Series(times, (1.0,) * periods), start, end, periods) == [1.0] * periods


def test_digest_spec_ends_with_the_count_the_alert_saw() -> None:
    threshold = Threshold(Family.INVALID_TOKEN, 10, timedelta(minutes=5))
    series = Series(
        tuple(END - timedelta(minutes=m) for m in range(90, 0, -1)),
        tuple(float(m % 7) for m in range(90, 0, -1)),
    )
    spec = digest_spec(Address("prod-db"), threshold, series, END)
    assert len(spec.counts) == CHART_SPAN / timedelta(minutes=1)
    last_window = sum(v for t, v in zip(series.timestamps, series.values, strict=True)
                      if END - threshold.window <= t < END)  # fmt: skip
    assert spec.counts[-1] == last_window
    assert spec.breach_ratio == last_window / 10


def test_a_tick_fetches_enough_for_thresholds_and_charts() -> None:
    short = Threshold(Family.INVALID_TOKEN, 5, timedelta(minutes=5))
    long = Threshold(Family.INSUFFICIENT_PERMISSIONS, 1, timedelta(hours=1), periods=6)
    assert fetch_span([short]) == CHART_SPAN + timedelta(minutes=5)
    assert fetch_span([short, long]) == long.lookback


@pytest.mark.parametrize(
    ("period", "words"),
    [(60, "min"), (300, "5 min"), (900, "15 min"), (3600, "hour"), (21600, "6 h"), (86400, "day")],
)
def test_per_period_names_the_unit(period: int, words: str) -> None:
    assert per_period(period) == words


def test_alt_text_gives_the_totals() -> None:
    report = report_with_data(timedelta(hours=1))
    text = metrics_alt_text(report)
    assert f"{report.total('IamDbAuthConnectionRequests'):,} requests" in text
    for family, metric in FAMILY_METRICS.items():
        assert f"{family.value} {report.total(metric):,}" in text


def _minute(moment: datetime) -> int:
    return int((moment - END) / timedelta(minutes=1))


def test_names_are_drawn_as_written_never_as_math() -> None:
    """`$\\nosuchcommand$` would make matplotlib's math parser raise: it must stay plain text."""
    chart = replace(a_digest_chart(), cluster=Address("acct/$\\nosuchcommand$/db"))
    assert_chart(draw_digest_chart(chart), 900, 360)
    report = replace(report_with_data(timedelta(hours=1)), cluster="$\\nosuchcommand$")
    assert_chart(draw_metrics_chart(report), 1200, 600)
