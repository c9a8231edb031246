"""What a digest tick reads from AWS (the AwsReads port), through the adapters in bot/aws: each
cluster read with the clients of the place that holds it (bot/adapters/aws/targets.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.cloudwatch_metrics import fetch_all_metrics
from bot.adapters.aws.errors import AwsError
from bot.adapters.aws.rds import describe_cluster
from bot.adapters.aws.targets import Targets
from bot.domain.address import Address
from bot.domain.metrics import Series
from bot.domain.summary import FailureSummary
from bot.domain.window import Window
from bot.services.queries import read_log_summary


class AwsAlertReads:
    # What fails one place's metrics or one cluster's log detail, and no other's.
    failures: tuple[type[Exception], ...] = (AwsError, BotoCoreError, ClientError)

    def __init__(self, aws: AwsClients, targets: Targets | None = None) -> None:
        self.aws = aws
        # None: every cluster is read with `aws` (a process without targets).
        self.targets = targets
        self._places: dict[str, AwsClients] = {}  # the clients of each place found so far

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
        self, place: str, clusters: Sequence[Address], window: Window
    ) -> Mapping[Address, Mapping[str, Series]]:
        """ceil(7·N/500) GetMetricData calls for the N clusters of one place."""
        names = sorted({c.cluster for c in clusters})
        fetched = fetch_all_metrics(self._places[place].cloudwatch(), names, window)
        return {cluster: fetched[cluster.cluster] for cluster in clusters}

    def log_export_on(self, cluster: Address) -> bool:
        clients, _ = self._locate(cluster)
        return describe_cluster(clients.rds(), cluster.cluster).iam_log_export_on

    def log_summary(self, cluster: Address, window: Window, cap: int) -> FailureSummary | None:
        clients, _ = self._locate(cluster)
        return read_log_summary(clients, cluster.cluster, window, cap)
