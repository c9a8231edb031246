from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.metrics import MAX_POINTS, Series, align_to_period, choose_period, resample


@pytest.mark.parametrize(
    ("window", "period"),
    [
        (timedelta(minutes=15), 60),
        (timedelta(hours=1), 60),
        (timedelta(hours=6), 60),
        (timedelta(hours=24), 300),
        (timedelta(days=7), 3600),
        (timedelta(days=14), 3600),
    ],
)
def test_period_keeps_series_short(window: timedelta, period: int) -> None:
    assert choose_period(window) == period
    assert window.total_seconds() / period <= MAX_POINTS


def test_alignment_widens_to_whole_periods() -> None:
    start = datetime(2025, 8, 11, 3, 2, 30, tzinfo=UTC)
    end = datetime(2025, 8, 11, 4, 2, 30, tzinfo=UTC)
    assert align_to_period(start, end, 300) == (
        datetime(2025, 8, 11, 3, 0, tzinfo=UTC),
        datetime(2025, 8, 11, 4, 5, tzinfo=UTC),
    )
    assert align_to_period(start.replace(second=0), end.replace(minute=5, second=0), 60)[
        1
    ] == end.replace(minute=5, second=0)


def test_resample_sums_into_buckets_with_zeros() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    series = Series(
        timestamps=tuple(start + timedelta(minutes=m) for m in (0, 1, 30, 59)),
        values=(1.0, 2.0, 4.0, 8.0),
    )
    assert resample(series, start, start + timedelta(hours=1), 4) == [3.0, 0.0, 4.0, 8.0]


def test_window_counts_split_the_lookback_into_windows() -> None:
    from bot.domain.metrics import window_counts

    end = datetime(2025, 1, 1, 1, 0, tzinfo=UTC)
    minutes = (
        -16,
        -15,
        -11,
        -6,
        -5,
        -1,
        0,
    )  # -16 is before the 3 windows; 0 is at the end (excluded)
    series = Series(
        tuple(end + timedelta(minutes=m) for m in minutes), (100.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
    )
    assert window_counts(series, end, timedelta(minutes=5), 3) == [3, 4, 24]
    assert window_counts(series, end, timedelta(minutes=5), 1) == [24]
