"""In-memory stand-ins for the digest pipeline's ports (bot/services/alerting/ports.py): the
store, AWS, and a renderer that records what it was given."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.adapters.aws.errors import AwsError, AwsUnreachable
from bot.adapters.store.fence import Fence, LeaseLost
from bot.adapters.store.repo import AlertMessage, Digest
from bot.domain.address import Address, parse_address
from bot.domain.alerts import AlertState, StateKey, Threshold
from bot.domain.metrics import FAMILY_METRICS, Series
from bot.domain.records import Family
from bot.domain.summary import FailureSummary
from bot.domain.watches import Watch, make_watch
from bot.domain.window import Window
from bot.services.alerting.group import ClusterNotices

NOW = datetime(2025, 8, 11, 4, 0, tzinfo=UTC)
END = NOW - timedelta(minutes=3)  # the windows a tick at NOW evaluates end here
FIVE_IN_5M = Threshold(Family.INVALID_TOKEN, 5, timedelta(minutes=5))
ONE_IN_15M = Threshold(Family.INSUFFICIENT_PERMISSIONS, 1, timedelta(minutes=15))


def watch(cluster: str, channel: str = "C0ALERTS01", *thresholds: Threshold, **kw: Any) -> Watch:
    return make_watch(parse_address(cluster), channel, list(thresholds or (FIVE_IN_5M,)), **kw)


def per_minute(end: datetime, counts: Mapping[int, float]) -> Series:
    """Points at `end` + m minutes."""
    moments = sorted(counts)
    return Series(
        tuple(end + timedelta(minutes=m) for m in moments), tuple(counts[m] for m in moments)
    )


def breaching(family: Family = Family.INVALID_TOKEN, per: float = 3.0) -> dict[str, Series]:
    """`per` failures a minute over the half hour before END (and none after)."""
    return {FAMILY_METRICS[family]: per_minute(END, {m: per for m in range(-30, 0)})}


def _within(series: Series, window: Window) -> Series:
    """The points a GetMetricData of `window` would return."""
    kept = [
        (moment, value)
        for moment, value in zip(series.timestamps, series.values, strict=True)
        if window.start <= moment < window.end
    ]
    return Series(tuple(m for m, _ in kept), tuple(v for _, v in kept))


@dataclass
class MemoryStore:
    """The AlertStore port. A fence holds while its epoch is the store's `epoch`."""

    watches: list[Watch] = field(default_factory=list)
    states: dict[StateKey, AlertState] = field(default_factory=dict)
    silences: dict[Address, datetime] = field(default_factory=dict)  # until when
    epoch: int = 1
    outbox: list[Digest] = field(default_factory=list)
    commits: int = 0
    held_audit_writes: int = 0
    messages: dict[str, AlertMessage] = field(default_factory=dict)

    def write_held_audit(self) -> None:
        self.held_audit_writes += 1

    def list_watches(self) -> list[Watch]:
        return list(self.watches)

    def alert_states(self) -> dict[StateKey, AlertState]:
        return dict(self.states)

    def alert_messages(self, keys: Iterable[str]) -> dict[str, AlertMessage]:
        return {k: self.messages[k] for k in keys if k in self.messages}

    def active_silences(self, now: datetime) -> Collection[Address]:
        return {cluster for cluster, until in self.silences.items() if until > now}

    def commit_tick(
        self,
        states: Mapping[StateKey, AlertState],
        digests: Iterable[Digest],
        now: datetime,
        *,
        stale_keys: Iterable[str] = (),
        fence: Fence | None = None,
        messages: Iterable[AlertMessage] = (),
    ) -> list[int]:
        if fence is not None and fence.epoch != self.epoch:
            raise LeaseLost(f"epoch {fence.epoch} is no longer held")
        self.commits += 1
        self.states.update(states)
        self.messages.update({m.key: m for m in messages})
        stale = set(stale_keys)
        self.states = {k: s for k, s in self.states.items() if k[0] not in stale}
        first = len(self.outbox) + 1
        self.outbox.extend(digests)
        return list(range(first, len(self.outbox) + 1))


@dataclass
class MemoryAws:
    """The AwsReads port: clusters in named places ("home" unless said), metrics per cluster,
    and reads that fail or are slow where a test says so."""

    failures: tuple[type[Exception], ...] = (AwsError,)
    series: dict[Address, dict[str, Series]] = field(default_factory=dict)
    places: dict[Address, str] = field(default_factory=dict)
    unplaced: set[Address] = field(default_factory=set)  # where no place can be told
    down: set[str] = field(default_factory=set)  # places whose metrics cannot be read
    export_off: set[Address] = field(default_factory=set)
    summaries: dict[Address, FailureSummary] = field(default_factory=dict)
    log_fails: set[Address] = field(default_factory=set)
    log_seconds: dict[Address, float] = field(default_factory=dict)  # how long a log read takes
    metric_reads: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    metric_windows: list[tuple[Window, tuple[str, ...]]] = field(default_factory=list)
    log_reads: list[tuple[str, Window, int]] = field(default_factory=list)
    # The workloads behind a cluster's client addresses, and how long finding them takes.
    workloads: dict[Address, list[tuple[str, int]]] = field(default_factory=dict)
    workload_seconds: float = 0.0

    def place_of(self, cluster: Address) -> str:
        if cluster in self.unplaced:
            raise AwsError(f"{cluster} is in more than one place")
        return self.places.get(cluster, "home")

    def metrics(
        self, place: str, clusters: Sequence[Address], window: Window, names: Sequence[str]
    ) -> Mapping[Address, Mapping[str, Series]]:
        self.metric_reads.append((place, tuple(map(str, clusters))))
        self.metric_windows.append((window, tuple(names)))
        if place in self.down:
            raise AwsUnreachable(f"{place} did not answer")
        return {
            cluster: {
                name: _within(series, window)
                for name, series in self.series.get(cluster, {}).items()
                if name in names
            }
            for cluster in clusters
        }

    def log_export_on(self, cluster: Address) -> bool:
        return cluster not in self.export_off

    def log_summary(self, cluster: Address, window: Window, cap: int) -> FailureSummary | None:
        self.log_reads.append((str(cluster), window, cap))
        time.sleep(self.log_seconds.get(cluster, 0.0))
        if cluster in self.log_fails:
            raise AwsError("the log group could not be read")
        return self.summaries.get(cluster)

    def top_workloads(
        self, cluster: Address, window: Window, summary: FailureSummary
    ) -> list[tuple[str, int]]:
        time.sleep(self.workload_seconds)
        return self.workloads.get(cluster, [])


@dataclass
class RecordingRender:
    """The RenderDigest port: what each digest was given, and a text naming its clusters."""

    given: list[tuple[list[ClusterNotices], datetime]] = field(default_factory=list)

    def __call__(
        self, items: Sequence[ClusterNotices], evaluated_to: datetime
    ) -> tuple[str, list[dict[str, Any]]]:
        self.given.append((list(items), evaluated_to))
        lines = [f"{i.cluster} {n.family.value} {n.kind.value}" for i in items for n in i.notices]
        return "; ".join(lines), [{"type": "section", "text": line} for line in lines]
