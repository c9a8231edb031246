"""Stage 1, I/O: what a tick decides on. From the store, the watches served (served.py) and the
alert states; from AWS, the metrics of every watched cluster, one read per place, the places at
once, each failing alone."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.access import AccessPolicy
from bot.domain.address import Address
from bot.domain.alerts import AlertState, StateKey
from bot.domain.chart_spec import fetch_span
from bot.domain.metrics import Series
from bot.domain.watches import Watch
from bot.domain.window import Window
from bot.ops.isolation import Failed, each_alone
from bot.services.alerting.left_out import left_out
from bot.services.alerting.ports import AlertStore, AwsReads, ClusterNames
from bot.services.served_watches import Skipped, all_watches, deliverable


@dataclass(frozen=True)
class Served:
    watches: list[Watch]  # in the order they are evaluated
    skipped: list[Skipped]
    states: dict[StateKey, AlertState]
    stale: list[str]  # keys of watches that are no more: their states are deleted


def served_watches(
    store: AlertStore, config_watches: Sequence[Watch], policy: AccessPolicy, identity: ClusterNames
) -> Served:
    watches = all_watches(config_watches, store)
    states = store.alert_states()
    # A watch left out keeps its states: it is served again once its channel may read it.
    stale = sorted({key for key, _ in states} - {w.key for w in watches})
    kept, skipped = deliverable(watches, policy, identity)
    return Served(kept, skipped, states, stale)


def windows(watches: Sequence[Watch], end: datetime) -> tuple[Window, Window]:
    """The windows evaluated (every threshold's lookback) and the one fetched: further back, so
    one fetch also serves the digests' charts."""
    thresholds = [t for w in watches for t in w.thresholds]
    evaluated = Window(end - max(t.lookback for t in thresholds), end)
    return evaluated, Window(end - fetch_span(thresholds), end)


def place_metrics(
    reads: AwsReads, clusters: Sequence[Address], window: Window
) -> dict[Address, Mapping[str, Series]]:
    """The metrics of every cluster whose place could be read. A place that cannot be (denied,
    unreachable, no answer before botocore's timeouts) is left out, logged: its watches are
    skipped this tick, neither fired nor resolved."""
    by_place: dict[str, list[Address]] = {}
    for cluster in clusters:
        try:
            place = reads.place_of(cluster)
        except reads.failures as error:
            left_out("metrics", str(cluster), Failed(type(error).__name__, error))
            continue
        by_place.setdefault(place, []).append(cluster)
    fetched = each_alone(
        {
            place: functools.partial(reads.metrics, place, found, window)
            for place, found in by_place.items()
        },
        alone=reads.failures,
    )
    out: dict[Address, Mapping[str, Series]] = {}
    for place, found in by_place.items():
        result = fetched[place]
        if isinstance(result, Failed):
            left_out("metrics", ", ".join(map(str, found)), result)
            continue
        for cluster in found:
            out[cluster] = result[cluster]
    return out
