"""Every Aurora cluster and RDS DB instance with IAM auth enabled, in every place, with its
last-24h failures (`/iamauth clusters`, `iamauth clusters`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.adapters.aws.cloudwatch_metrics import MetricsSource, read_metrics
from bot.adapters.aws.targets import Place, Targets
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


class ClusterService:
    def __init__(self, targets: Targets, clock: Clock) -> None:
        self.targets = targets
        self.clock = clock

    def listing(self) -> ClusterListing:
        return list_clusters(self.targets, self.clock())
