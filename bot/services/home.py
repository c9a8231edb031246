"""What a person's Home tab shows: every watched cluster they may read, one row each, with its
state (firing / silenced / ok), its failures of the last 24 h by family, when it last fired and
who acknowledged it.

Who may read what is the commands' rule (bot/domain/access.py), decided for the channel the Home
tab belongs to (the person's conversation with the app), as a command typed there would be.
The metrics are read by read_metrics's rule, one batched GetMetricData call per place for every
cluster watched there (whoever asks; up to 500 queries: 4 per cluster and member), kept `cache_seconds`: many people opening the tab cost one
read a place a minute. Alert states and silences are read fresh from the store each time, so a
change shows at once.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.cloudwatch_metrics import (
    MAX_QUERIES_PER_CALL,
    MetricQuery,
    MetricsSource,
    get_metric_data,
    read_metrics,
)
from bot.adapters.aws.errors import AwsError
from bot.adapters.aws.targets import Targets
from bot.adapters.store.repo import Silence
from bot.domain.access import AccessPolicy
from bot.domain.address import Address
from bot.domain.alerts import AlertState, StateKey, Status
from bot.domain.metrics import (
    FAMILY_METRICS,
    INSTANCE_DIMENSION,
    Series,
    resample,
)
from bot.domain.records import Family
from bot.domain.watches import Watch
from bot.domain.window import Window
from bot.ops.cache import TtlCache
from bot.services.metric_sources import source_of
from bot.services.watches import WatchService

log = logging.getLogger(__name__)

HOME_WINDOW = timedelta(hours=24)
HOME_PERIOD = 3600  # one point an hour: 24 a series, so 4 families of 125 clusters fit one call
SPARK_BUCKETS = 24
HOME_CACHE_SECONDS = 60.0
# The families with a metric of their own, in the order shown.
HOME_FAMILIES: tuple[Family, ...] = tuple(FAMILY_METRICS)


class HomeState(enum.StrEnum):
    FIRING = "firing"
    SILENCED = "silenced"  # a silence covers it (it may be firing underneath)
    OK = "ok"


@dataclass(frozen=True)
class FamilyFailures:
    family: Family
    total: int
    buckets: tuple[float, ...]  # SPARK_BUCKETS sums, oldest first


@dataclass(frozen=True)
class HomeRow:
    cluster: Address
    channels: tuple[str, ...]  # where its digests go
    state: HomeState
    firing: tuple[Family, ...]  # families firing now (also under a silence)
    last_fired: datetime | None  # start of its latest episode, ended or not
    silenced_until: datetime | None
    acknowledged_by: str | None  # who acknowledged its alert, where alert states record it
    failures: tuple[FamilyFailures, ...] | None  # None: its metrics could not be read

    @property
    def failures_24h(self) -> int:
        return sum(f.total for f in self.failures or ())


@dataclass(frozen=True)
class HomeData:
    rows: list[HomeRow]
    hidden: int  # watched clusters this person may not read here, left out
    problems: list[str] = field(default_factory=list)  # places whose metrics failed
    as_of: datetime | None = None


class StateSource(Protocol):
    def alert_states(self) -> dict[StateKey, AlertState]: ...

    def last_fired(self) -> Mapping[str, datetime]:
        """When each watch's (by key) latest episode began, ended or not."""
        ...


def acknowledged_by(state: AlertState) -> str | None:
    """Who acknowledged the alert, once alert states record it (the digest's Acknowledge button);
    None until then."""
    value = getattr(state, "acknowledged_by", None)
    return str(value) if value else None


def _family(family: Family, series: Series | None, now: datetime) -> FamilyFailures:
    series = series or Series()
    buckets = resample(series, now - HOME_WINDOW, now, SPARK_BUCKETS)
    return FamilyFailures(family, round(series.total), tuple(buckets))


def _state_of(firing: Sequence[Family], silence: Silence | None) -> HomeState:
    if silence is not None:
        return HomeState.SILENCED
    return HomeState.FIRING if firing else HomeState.OK


def _silence_of(cluster: Address, silences: Mapping[Address, Silence]) -> Silence | None:
    names = [cluster, cluster.by_short_name, Address(cluster.cluster)]
    return next((silences[n] for n in names if n in silences), None)


class HomeService:
    def __init__(
        self,
        watches: WatchService,
        states: StateSource,
        aws: AwsClients,
        targets: Targets,
        policy: AccessPolicy,
        clock: Callable[[], datetime],
        *,
        cache_seconds: float = HOME_CACHE_SECONDS,
    ) -> None:
        self.watches = watches
        self.states = states
        self.aws = aws
        self.targets = targets
        self.policy = policy
        self.clock = clock
        self._metrics: TtlCache[dict[Address, dict[str, Series]]] = TtlCache(cache_seconds)
        # Each person's Home tab channel, as their last app_home_opened said: a refresh after
        # their own change is decided for the same channel.
        self._channels: dict[str, str] = {}
        self._lock = threading.Lock()

    def remember(self, user: str, channel: str) -> None:
        with self._lock:
            self._channels[user] = channel

    def channel_of(self, user: str) -> str | None:
        with self._lock:
            return self._channels.get(user)

    def home(self, channel: str) -> HomeData:
        """The rows the Home tab of `channel` shows: firing first, then silenced, then ok; each
        group by failures (most first), then name."""
        now = self.clock()
        listing = self.watches.listing()
        by_cluster: dict[Address, list[Watch]] = defaultdict(list)
        for watch in listing.watches:
            by_cluster[watch.cluster].append(watch)
        readable = {c: w for c, w in by_cluster.items() if self.policy.may_read(c, channel)}
        states: dict[str, list[tuple[Family, AlertState]]] = defaultdict(list)
        for (key, family), state in self.states.alert_states().items():
            states[key].append((family, state))
        fired = self.states.last_fired()
        metrics, problems = self._read_metrics(list(by_cluster), set(readable), now)
        rows = [
            self._row(cluster, watches, states, fired, listing.silences, metrics, now)
            for cluster, watches in readable.items()
        ]
        order = {HomeState.FIRING: 0, HomeState.SILENCED: 1, HomeState.OK: 2}
        rows.sort(key=lambda r: (order[r.state], -r.failures_24h, str(r.cluster)))
        return HomeData(rows, len(by_cluster) - len(readable), problems, now)

    def _row(
        self,
        cluster: Address,
        watches: Sequence[Watch],
        states: Mapping[str, Sequence[tuple[Family, AlertState]]],
        fired: Mapping[str, datetime],
        silences: Mapping[Address, Silence],
        metrics: Mapping[Address, dict[str, Series]],
        now: datetime,
    ) -> HomeRow:
        mine = [(family, state) for watch in watches for family, state in states[watch.key]]
        firing = sorted({f for f, s in mine if s.status is Status.FIRING})
        episodes = [s.since for _, s in mine if s.since is not None]
        episodes += [at for watch in watches if (at := fired.get(watch.key)) is not None]
        acks = [a for _, s in mine if (a := acknowledged_by(s))]
        silence = _silence_of(cluster, silences)
        series = metrics.get(cluster)
        failures = None
        if series is not None:
            failures = tuple(_family(f, series.get(FAMILY_METRICS[f]), now) for f in HOME_FAMILIES)
        return HomeRow(
            cluster,
            tuple(sorted({w.channel for w in watches})),
            _state_of(firing, silence),
            tuple(firing),
            max(episodes) if episodes else None,
            silence.until if silence else None,
            acks[0] if acks else None,
            failures,
        )

    def _read_metrics(
        self, clusters: Sequence[Address], readable: Set[Address], now: datetime
    ) -> tuple[dict[Address, dict[str, Series]], list[str]]:
        """Every watched cluster's family series of the last 24 h: one GetMetricData call per
        place (cached), whoever asks, so one person's tab and another's share it."""
        by_place: dict[str, list[Address]] = defaultdict(list)
        clients: dict[str, AwsClients] = {}
        problems: list[str] = []
        for cluster in clusters:
            try:
                place_clients, label = self.targets.locate(cluster, self.aws)
            except AwsError as error:
                if cluster in readable:  # the others' names are not this person's to see
                    problems.append(f"{cluster}: {error}")
                continue
            by_place[label].append(cluster)
            clients[label] = place_clients
        found: dict[Address, dict[str, Series]] = {}
        for label, members in by_place.items():
            key = (label, tuple(sorted(str(c) for c in members)))
            try:
                found |= self._metrics.get(
                    key, partial(self._place_metrics, clients[label], label, members, now)
                )
            except AwsError as error:
                log.info("Home tab: metrics of place %r not read: %s", label, error)
                problems.append(f"{label or 'metrics'}: {error}")
        return found, problems

    def _place_metrics(
        self, clients: AwsClients, label: str, clusters: Sequence[Address], now: datetime
    ) -> dict[Address, dict[str, Series]]:
        """read_metrics's rule (a cluster's own series, else its members' summed). Where the
        clusters' and their members' queries fit one GetMetricData call (500), they are asked for
        together: one call, not read_metrics's second one after the first."""
        place = next((p for p in self.targets.places() if p.label == label), None)
        inventory = self.targets.inventory(place or self.targets.default())
        sources = {cluster: source_of(cluster, inventory) for cluster in clusters}
        names = [FAMILY_METRICS[f] for f in HOME_FAMILIES]
        queries: list[MetricQuery] = []
        asked: dict[MetricsSource, tuple[int, int]] = {}  # source → (first query, how many)
        for source in sorted(set(sources.values()), key=lambda s: (s.name, s.dimension)):
            first = len(queries)
            queries += [MetricQuery(m, source.dimension, source.name) for m in names]
            if source.may_fall_back:
                queries += [
                    MetricQuery(m, INSTANCE_DIMENSION, member)
                    for member in source.members
                    for m in names
                ]
            asked[source] = (first, len(queries) - first)
        window = Window(now - HOME_WINDOW, now)
        if len(queries) > MAX_QUERIES_PER_CALL:
            # Too many members to ask for up front: read_metrics asks for those of the clusters
            # without series of their own only, in a second batch (fewer calls at this size).
            unique = list(asked)
            read = read_metrics(clients.cloudwatch(), unique, window, HOME_PERIOD, names)
            by_source = {s: a.series for s, a in zip(unique, read, strict=True)}
            return {cluster: by_source[source] for cluster, source in sources.items()}
        fetched = get_metric_data(clients.cloudwatch(), queries, window, HOME_PERIOD)
        answers: dict[MetricsSource, dict[str, Series]] = {}
        for source, (first, count) in asked.items():
            own = dict(zip(names, fetched[first : first + len(names)], strict=True))
            if any(series.values for series in own.values()) or count == len(names):
                answers[source] = own
                continue
            members = range(first + len(names), first + count)
            answers[source] = {
                m: _summed([fetched[i] for i in members if queries[i].metric == m]) for m in names
            }
        return {cluster: answers[source] for cluster, source in sources.items()}


def _summed(series: Sequence[Series]) -> Series:
    points: dict[datetime, float] = defaultdict(float)
    for one in series:
        for moment, value in zip(one.timestamps, one.values, strict=True):
            points[moment] += value
    order = sorted(points)
    return Series(tuple(order), tuple(points[t] for t in order))
