"""Stage 2, pure: every threshold of every watch served, through the alert state machine
(bot/domain/alerts.py), on the metrics collect read."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.address import Address
from bot.domain.alerts import AlertState, Notice, Observation, StateKey, observe, step
from bot.domain.metrics import FAMILY_METRICS, Series, window_counts
from bot.domain.watches import Watch

Metrics = Mapping[Address, Mapping[str, Series]]  # per cluster, per metric name


@dataclass(frozen=True)
class Evaluation:
    changed: dict[StateKey, AlertState] = field(default_factory=dict)  # states to write
    notices: list[tuple[Watch, Notice]] = field(default_factory=list)  # in watch order
    # What each threshold's windows showed this tick (the counts an alert message shows).
    observed: dict[StateKey, Observation] = field(default_factory=dict)


def evaluate(
    watches: Sequence[Watch],
    states: Mapping[StateKey, AlertState],
    metrics: Metrics,
    silences: Collection[Address],
    end: datetime,
    now: datetime,
) -> Evaluation:
    """The windows ending at `end` (metric time) observed at `now`. A watch whose cluster has no
    metrics (its place could not be read this tick) is left as it is: neither fired nor
    resolved on missing data."""
    result = Evaluation()
    for watch in watches:
        if watch.cluster not in metrics:
            continue
        silenced = watch.cluster.named_in(silences)
        for threshold in watch.thresholds:
            series = metrics[watch.cluster].get(FAMILY_METRICS[threshold.family], Series())
            counts = window_counts(series, end, threshold.window, threshold.periods)
            key = (watch.key, threshold.family)
            before = states.get(key, AlertState())
            result.observed[key] = observation = observe(threshold, counts, end)
            after, notice = step(
                before,
                threshold,
                observation,
                now,
                repeat=watch.repeat,
                send_resolved=watch.send_resolved,
                silenced=silenced,
            )
            if after != before:
                result.changed[key] = after
            if notice is not None:
                result.notices.append((watch, notice))
    return result
