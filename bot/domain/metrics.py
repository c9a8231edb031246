"""The seven `IamDbAuth*` CloudWatch metrics and what we make of their data points."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain.records import Family
from bot.domain.window import Window

NAMESPACE = "AWS/RDS"
METRIC_NAMES: tuple[str, ...] = (
    "IamDbAuthConnectionRequests",
    "IamDbAuthConnectionSuccess",
    "IamDbAuthConnectionFailure",
    "IamDbAuthConnectionFailureInvalidToken",
    "IamDbAuthConnectionFailureInsufficientPermissions",
    "IamDbAuthConnectionFailureThrottling",
    "IamDbAuthConnectionFailureServerError",
)
FAMILY_METRICS: dict[Family, str] = {
    Family.INVALID_TOKEN: "IamDbAuthConnectionFailureInvalidToken",
    Family.INSUFFICIENT_PERMISSIONS: "IamDbAuthConnectionFailureInsufficientPermissions",
    Family.THROTTLING: "IamDbAuthConnectionFailureThrottling",
    Family.SERVER_ERROR: "IamDbAuthConnectionFailureServerError",
}
REQUESTS_METRIC = "IamDbAuthConnectionRequests"
CLUSTER_DIMENSION = "DBClusterIdentifier"
INSTANCE_DIMENSION = "DBInstanceIdentifier"

# Periods CloudWatch keeps at every age we allow (windows up to a few weeks).
_PERIODS = (60, 300, 900, 3600, 21600, 86400)
MAX_POINTS = 360
# Metrics arrive a few minutes late: the newest points of a window may still grow.
METRICS_DELAY = timedelta(minutes=3)


def choose_period(window: timedelta) -> int:
    """The smallest standard period that keeps a series at or under MAX_POINTS points."""
    seconds = window.total_seconds()
    for period in _PERIODS:
        if math.ceil(seconds / period) <= MAX_POINTS:
            return period
    return _PERIODS[-1]


def short_name(metric: str) -> str:
    """`IamDbAuthConnectionFailureInvalidToken` → `FailureInvalidToken`, for narrow tables."""
    return metric.removeprefix("IamDbAuthConnection")


@dataclass(frozen=True, slots=True)
class Series:
    """One metric's points in a window, oldest first."""

    timestamps: tuple[datetime, ...] = ()
    values: tuple[float, ...] = ()

    @property
    def total(self) -> float:
        return sum(self.values)


@dataclass(frozen=True)
class MetricsReport:
    cluster: str
    start: datetime
    end: datetime
    period: int
    dimension: str  # "DBClusterIdentifier", or "DBInstanceIdentifier" when summed over instances
    instances: tuple[str, ...] = ()
    series: dict[str, Series] = field(default_factory=dict)

    @property
    def window(self) -> Window:
        return Window(self.start, self.end)

    def total(self, metric: str) -> int:
        series = self.series.get(metric)
        return round(series.total) if series else 0

    @property
    def has_data(self) -> bool:
        return any(s.values for s in self.series.values())


def align_to_period(start: datetime, end: datetime, period: int) -> tuple[datetime, datetime]:
    """Widen [start, end) to whole periods, as CloudWatch itself buckets data points."""
    epoch = datetime(1970, 1, 1, tzinfo=start.tzinfo)
    start_s = int((start - epoch).total_seconds()) // period * period
    end_s = -(-int((end - epoch).total_seconds()) // period) * period
    return epoch + timedelta(seconds=start_s), epoch + timedelta(seconds=end_s)


def resample(series: Series, start: datetime, end: datetime, buckets: int) -> list[float]:
    """Sum a series into `buckets` equal slices of [start, end), zeros where there are no points."""
    span = (end - start).total_seconds()
    out = [0.0] * buckets
    if span <= 0 or buckets <= 0:
        return out
    for moment, value in zip(series.timestamps, series.values, strict=True):
        offset = (moment - start).total_seconds()
        if 0 <= offset < span:
            # offset·buckets // span, not offset/span·buckets: the latter rounds a point on a
            # bucket's edge into the bucket before it (a spike and a gap where data is steady).
            out[min(int(offset * buckets // span), buckets - 1)] += value
    return out


def window_counts(series: Series, end: datetime, window: timedelta, periods: int) -> list[int]:
    """Sums of `series` over `periods` consecutive windows ending at `end`, oldest first."""
    counts = [0.0] * periods
    first_start = end - window * periods
    for moment, value in zip(series.timestamps, series.values, strict=True):
        if first_start <= moment < end:
            counts[min(int((moment - first_start) / window), periods - 1)] += value
    return [round(c) for c in counts]
