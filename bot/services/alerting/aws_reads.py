"""What a digest tick reads from AWS (the AwsReads port), through the adapters in bot/aws: each
cluster read with the clients of the place that holds it (bot/adapters/aws/targets.py)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence

from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.cloudwatch_metrics import read_metrics
from bot.adapters.aws.errors import AwsError
from bot.adapters.aws.rds import describe_resource
from bot.adapters.aws.rds_inventory import list_databases
from bot.adapters.aws.targets import INVENTORY_SECONDS, Targets
from bot.domain.address import Address
from bot.domain.cluster import ClusterInfo, Kind
from bot.domain.metrics import Series
from bot.domain.summary import FailureSummary
from bot.domain.window import Window
from bot.domain.workloads import WorkloadKind, describe
from bot.services.metric_sources import source_of
from bot.services.queries import read_log_summary
from bot.services.who_failed_from_where import who_failed_from_where

DIGEST_PERIOD = 60  # seconds: RDS publishes a point a minute
DIGEST_ENGINE_EVENT_CAP = 20_000  # engine log lines read for a digest's workloads
TOP_WORKLOADS = 3


class AwsAlertReads:
    # What fails one place's metrics or one cluster's log detail, and no other's.
    failures: tuple[type[Exception], ...] = (AwsError, BotoCoreError, ClientError)

    def __init__(self, aws: AwsClients, targets: Targets | None = None) -> None:
        self.aws = aws
        # None: every cluster is read with `aws` (a process without targets).
        self.targets = targets
        self._places: dict[str, AwsClients] = {}  # the clients of each place found so far
        # Whether each name read so far is a cluster or a DB instance: its log group says it.
        self._kinds: dict[Address, Kind] = {}
        self._infos: dict[Address, ClusterInfo] = {}  # as log_export_on found them this tick
        # Without targets: `aws`'s own databases, listed at most every INVENTORY_SECONDS.
        self._listed: tuple[float, list[ClusterInfo]] | None = None

    def _locate(self, cluster: Address) -> tuple[AwsClients, str]:
        """The clients of the place holding `cluster`, and that place's label ("" for `aws`)."""
        if self.targets is None:
            return self.aws, ""
        return self.targets.locate(cluster, self.aws)

    def place_of(self, cluster: Address) -> str:
        clients, place = self._locate(cluster)
        self._places[place] = clients
        return place

    def metrics(
        self, place: str, clusters: Sequence[Address], window: Window, names: Sequence[str]
    ) -> Mapping[Address, Mapping[str, Series]]:
        """The metrics of the N databases of one place by read_metrics's rule (the one
        `/iamauth metrics` follows): ceil(len(names)·N/500) GetMetricData calls where every watched
        Aurora cluster has its own series, and one more batch for the members of those that have
        none.
        Each name's kind and members come from the place's inventory: one read per place per
        tick at most (Targets caches it for 5 minutes)."""
        inventory = self._inventory(place)
        sources = {cluster: source_of(cluster, inventory) for cluster in clusters}
        unique = sorted(set(sources.values()), key=lambda s: (s.name, s.dimension))
        read = read_metrics(
            self._places[place].cloudwatch(), unique, window, DIGEST_PERIOD, metrics=names
        )
        answers = dict(zip(unique, read, strict=True))
        return {cluster: answers[source].series for cluster, source in sources.items()}

    def _inventory(self, place: str) -> list[ClusterInfo]:
        """The databases of `place` (its label), listed at most every 5 minutes: two paginated
        RDS calls however many are watched (describing each would be one or two a name)."""
        if self.targets is not None:
            found = next((p for p in self.targets.places() if p.label == place), None)
            return self.targets.inventory(found or self.targets.default())
        now = time.monotonic()
        if self._listed is None or now - self._listed[0] >= INVENTORY_SECONDS:
            self._listed = (now, list_databases(self.aws.rds()))
        return self._listed[1]

    def log_export_on(self, cluster: Address) -> bool:
        clients, _ = self._locate(cluster)
        info = describe_resource(clients.rds(), cluster.cluster, cluster.kind)
        self._kinds[cluster] = info.kind
        self._infos[cluster] = info
        return info.iam_log_export_on

    def log_summary(self, cluster: Address, window: Window, cap: int) -> FailureSummary | None:
        """The log of the cluster or DB instance (`/aws/rds/cluster/…` or `/aws/rds/instance/…`);
        its kind is the one `log_export_on` found, else asked of RDS."""
        clients, _ = self._locate(cluster)
        kind = cluster.kind or self._kinds.get(cluster)
        if kind is None:
            kind = describe_resource(clients.rds(), cluster.cluster).kind
            self._kinds[cluster] = kind
        # The events are kept for top_workloads to match to the engine log.
        return read_log_summary(clients, cluster.cluster, window, cap, keep_events=True, kind=kind)

    def top_workloads(
        self, cluster: Address, window: Window, summary: FailureSummary
    ) -> list[tuple[str, int]]:
        """Who failed from where, as `failures … clients` answers it, reduced to the workloads
        found: only where the engine log is exported (the answer then needs no extra permission
        but the optional EC2 reads)."""
        clients, _ = self._locate(cluster)
        info = self._infos.get(cluster) or describe_resource(
            clients.rds(), cluster.cluster, cluster.kind
        )
        if info.engine_log_export not in info.log_exports:
            return []
        answer = who_failed_from_where(clients, info, window, summary, DIGEST_ENGINE_EVENT_CAP)
        totals: Counter[str] = Counter()
        for address, count in answer.client_totals():
            workload = answer.workloads.get(address)
            if workload is not None and workload.kind is not WorkloadKind.OUTSIDE:
                totals[describe(workload)] += count
        return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_WORKLOADS]
