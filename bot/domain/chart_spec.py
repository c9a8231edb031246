"""What a digest's chart shows, as plain data: the outbox stores it as JSON,
bot/views/chart_drawing.py draws it.

The chart of a firing threshold is the quantity the alert compares: at each minute, the failures of
the family in the threshold's window ending there (a rolling count), with the threshold as a line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.address import Address, parse_address
from bot.domain.alerts import Threshold
from bot.domain.metrics import Series
from bot.domain.records import Family

# How far back a digest chart looks, whatever the threshold's own lookback.
CHART_SPAN = timedelta(hours=1)
CHART_STEP = timedelta(minutes=1)  # the period the tick fetches the metrics at


@dataclass(frozen=True)
class DigestChart:
    cluster: Address
    family: Family
    threshold: int
    window: timedelta
    end: datetime
    # Failures in the `window` ending at each step, oldest first; the last ends at `end`.
    counts: tuple[int, ...]
    step: timedelta = CHART_STEP

    @property
    def times(self) -> list[datetime]:
        """When each count's window ends."""
        first = self.end - self.step * (len(self.counts) - 1)
        return [first + self.step * i for i in range(len(self.counts))]

    @property
    def breach_ratio(self) -> float:
        """The latest count over the threshold: how hard this family is breaching now."""
        latest = self.counts[-1] if self.counts else 0
        return latest / max(self.threshold, 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "digest",
            "cluster": str(self.cluster),
            "family": self.family.value,
            "threshold": self.threshold,
            "window_seconds": int(self.window.total_seconds()),
            "end": self.end.isoformat(),
            "step_seconds": int(self.step.total_seconds()),
            "counts": list(self.counts),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DigestChart:
        """Raises KeyError or ValueError on a spec this version does not understand."""
        if data.get("kind") != "digest":
            raise ValueError(f"not a digest chart: {data.get('kind')!r}")
        end = datetime.fromisoformat(str(data["end"]))
        if end.tzinfo is None:
            raise ValueError("a chart's end must carry its time zone")
        return cls(
            cluster=parse_address(str(data["cluster"])),
            family=Family(data["family"]),
            threshold=int(data["threshold"]),
            window=timedelta(seconds=int(data["window_seconds"])),
            end=end,
            counts=tuple(int(c) for c in data["counts"]),
            step=timedelta(seconds=int(data["step_seconds"])),
        )


def fetch_span(thresholds: list[Threshold]) -> timedelta:
    """How much metric history a tick fetches: every threshold's lookback, and enough for a chart's
    rolling counts (CHART_SPAN plus one window before it), so charts need no second fetch."""
    lookback = max(t.lookback for t in thresholds)
    return max(lookback, CHART_SPAN + max(t.window for t in thresholds))


def rolling_counts(
    series: Series, end: datetime, window: timedelta, span: timedelta, step: timedelta
) -> list[int]:
    """Sums of `series` over [t - window, t) for t every `step` over the `span` ending at `end`.

    Points are bucketed by `step` (the metrics' period), so each sum is a difference of prefix
    sums; minutes without points count as zero.
    """
    steps = int(span / step)
    window_steps = max(1, int(window / step))
    first = end - step * (steps + window_steps - 1)  # the oldest minute any window needs
    buckets = [0.0] * (steps + window_steps - 1)
    for moment, value in zip(series.timestamps, series.values, strict=True):
        if first <= moment < end:
            buckets[int((moment - first) / step)] += value
    prefix = [0.0]
    for value in buckets:
        prefix.append(prefix[-1] + value)
    # The i-th chart time ends the window made of buckets [i, i + window_steps).
    return [round(prefix[i + window_steps] - prefix[i]) for i in range(steps)]


def digest_chart(
    cluster: Address, threshold: Threshold, series: Series, end: datetime
) -> DigestChart:
    counts = rolling_counts(series, end, threshold.window, CHART_SPAN, CHART_STEP)
    return DigestChart(
        cluster, threshold.family, threshold.count, threshold.window, end, tuple(counts)
    )
