"""Which resource a watched name reads its metrics from: an Aurora cluster (its own series, or
its members') or an RDS DB instance, known from its place's inventory."""

from __future__ import annotations

from collections.abc import Iterable

from bot.adapters.aws.cloudwatch_metrics import MetricsSource
from bot.domain.address import Address
from bot.domain.cluster import CLUSTER, INSTANCE, ClusterInfo
from bot.domain.metrics import CLUSTER_DIMENSION, INSTANCE_DIMENSION


def source_of(address: Address, inventory: Iterable[ClusterInfo]) -> MetricsSource:
    """The resource `address` names among `inventory` (of its kind, if said). A name both kinds
    hold, said without a kind, reads the cluster: what a name meant before instances were
    watched. A name the inventory lacks reads its own series, by the kind said (cluster if none)."""
    found = [
        info
        for info in inventory
        if info.identifier == address.cluster and address.kind in (None, info.kind)
    ]
    for kind in (CLUSTER, INSTANCE):
        for info in found:
            if info.kind == kind:
                return MetricsSource.of(info)
    dimension = INSTANCE_DIMENSION if address.kind == INSTANCE else CLUSTER_DIMENSION
    return MetricsSource(address.cluster, dimension)
