"""Every Aurora cluster and RDS DB instance with IAM auth enabled, in every place, with its
last-24h failures (`/iamauth clusters`, `iamauth clusters`)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.adapters.aws.cloudwatch_metrics import MetricsSource, read_metrics
from bot.adapters.aws.targets import Place, Targets
from bot.domain.address import Address
from bot.domain.cluster import CLUSTER, Kind
from bot.domain.window import Window
from bot.ops.clock import Clock

FAILURES = "IamDbAuthConnectionFailure"


@dataclass(frozen=True)
class ClusterRow:
    place: str
    cluster: str
    log_export_on: bool
    failures_24h: int
    kind: Kind = CLUSTER  # an Aurora cluster, or an RDS DB instance


@dataclass(frozen=True)
class ClusterListing:
    rows: list[ClusterRow]
    problems: list[str]  # places that could not be read, in one sentence each


def list_clusters(targets: Targets, now: datetime) -> ClusterListing:
    """Clusters and DB instances with IAM auth enabled in every place, with their last-24h
    failure count, read by the rule `/iamauth metrics` follows (read_metrics): one inventory read
    and one batched GetMetricData call per place, one more where some Aurora cluster has no
    series of its own but members; places in parallel."""
    window = Window(now - timedelta(hours=24), now)

    def place_rows(place: Place) -> list[ClusterRow]:
        found = [c for c in targets.inventory(place, fresh=True) if c.iam_auth_enabled]
        if not found:
            return []
        answers = read_metrics(
            targets.clients(place).cloudwatch(),
            [MetricsSource.of(c) for c in found],
            window,
            3600,
            [FAILURES],
        )
        return [
            ClusterRow(
                place.label,
                c.identifier,
                c.iam_log_export_on,
                round(a.series[FAILURES].total),
                c.kind,
            )
            for c, a in zip(found, answers, strict=True)
        ]

    rows: list[ClusterRow] = []
    problems: list[str] = []
    for place, result in targets.each_place(place_rows):
        if isinstance(result, Exception):
            problems.append(f"{place.label}: {result}")
        else:
            rows.extend(result)
    rows.sort(key=lambda r: (-r.failures_24h, r.place, r.cluster))
    return ClusterListing(rows, problems)


@dataclass(frozen=True)
class ClusterChoice:
    """A database a person may pick (a modal's cluster menu): named as a watch would name it."""

    address: Address
    place: str


_ACCOUNT = re.compile(r"\A[0-9]{12}\Z")


def cluster_choices(targets: Targets) -> list[ClusterChoice]:
    """Every database with IAM auth in every place, from the cached inventory (no metrics read):
    by its short name where that names one database across places, else by the parts of its
    address that tell it apart (its place, its kind). Places that cannot be read are left out."""
    found: list[tuple[Place, Address]] = []
    for place, result in targets.each_place(targets.inventory):
        if isinstance(result, list):
            found += [
                (place, Address(c.identifier, kind=c.kind)) for c in result if c.iam_auth_enabled
            ]
    holders: dict[str, list[tuple[Place, Address]]] = defaultdict(list)
    for place, address in found:
        holders[address.cluster].append((place, address))
    choices = []
    for place, address in found:
        same = holders[address.cluster]
        several_places = len({p for p, _ in same}) > 1 and bool(_ACCOUNT.match(place.account))
        several_kinds = len({a.kind for p, a in same if p == place}) > 1
        name = Address(
            address.cluster,
            place.account if several_places else None,
            place.region if several_places else None,
            address.kind if several_kinds else None,
        )
        choices.append(ClusterChoice(name, place.label))
    return sorted(choices, key=lambda c: (c.address.cluster, str(c.address)))


class ClusterService:
    def __init__(self, targets: Targets, clock: Clock) -> None:
        self.targets = targets
        self.clock = clock

    def listing(self) -> ClusterListing:
        return list_clusters(self.targets, self.clock())

    def choices(self) -> list[ClusterChoice]:
        return cluster_choices(self.targets)
