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
from bot.domain.alerts import CHARTED, AlertState, Notice, StateKey
from bot.domain.chart_spec import fetch_span
from bot.domain.metrics import FAMILY_METRICS, REQUESTS_METRIC, Series
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
    """The window every cluster's metrics are fetched for (the longest threshold lookback) and
    the longer one a chart needs (bot/domain/chart_spec.py), fetched only for clusters that fire."""
    thresholds = [t for w in watches for t in w.thresholds]
    evaluated = Window(end - max(t.lookback for t in thresholds), end)
    return evaluated, Window(end - fetch_span(thresholds), end)


def evaluated_metrics(watches: Sequence[Watch]) -> tuple[str, ...]:
    """The metrics a tick evaluates: the families its thresholds count, and the requests, which
    tell a cluster with its own series from one whose data sits under its members only."""
    families = sorted({FAMILY_METRICS[t.family] for w in watches for t in w.thresholds})
    return (REQUESTS_METRIC, *families)


def chart_history(
    reads: AwsReads, notices: Sequence[tuple[Watch, Notice]], window: Window
) -> dict[Address, Mapping[str, Series]]:
    """The longer history of the families charted (firing, escalated), of those clusters only:
    one more batched read per place, on ticks where something fires."""
    charted: dict[Address, set[str]] = {}
    for watch, notice in notices:
        if notice.kind in CHARTED:
            charted.setdefault(watch.cluster, set()).add(FAMILY_METRICS[notice.family])
    if not charted:
        return {}
    names = tuple(sorted(set().union(*charted.values())))
    return place_metrics(reads, sorted(charted, key=str), window, names)


def place_metrics(
    reads: AwsReads, clusters: Sequence[Address], window: Window, names: Sequence[str]
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
            place: functools.partial(reads.metrics, place, found, window, names)
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
