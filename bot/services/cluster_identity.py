"""Whether two names are one database: `edge-db` and `123456789012/us-east-1/edge-db` are, when
iamauth finds `edge-db` in that place, and so are `edge-db` and `instance:edge-db` when `edge-db`
is a DB instance there and no cluster (bot/domain/address.py names, bot/adapters/aws/targets.py
places).

Two watches of one cluster for one channel would post each of its lines twice, so `watch` refuses
the second and the digest serves one (bot/services/served_watches.py `deliverable`)."""

from __future__ import annotations

from bot.adapters.aws.rds import AmbiguousKind
from bot.adapters.aws.targets import AmbiguousCluster, Targets, UnknownPlace
from bot.domain.address import Address


class ClusterIdentity:
    def __init__(self, targets: Targets | None) -> None:
        # None: every name is read through one set of clients (a runner without targets), so a
        # database is its short name wherever an address puts it.
        self.targets = targets

    def canonical(self, cluster: Address) -> Address:
        """`account/region/kind:name` of the place holding `cluster` (a short name or an
        address), with the kind RDS has by that name there (None where it has none).
        AwsError when that cannot be told: ambiguous, no such target, AWS unreachable."""
        if self.targets is None:
            return cluster.by_short_name
        place = self.targets.resolve(cluster)
        kind = self.targets.kind_in(place, cluster)
        return Address(cluster.cluster, place.account, place.region, kind)

    def same(self, one: Address, other: Address) -> bool:
        """Asks AWS only when the two differ in text but not in short name (a cluster listing,
        cached for minutes, where a short name has several places to be in). A name of no one
        place (ambiguous, or of a place iamauth has no target for) is no other name's cluster:
        the digest cannot read it. AwsError when AWS could not tell."""
        if one == other:
            return True
        if one.cluster != other.cluster:
            return False
        if self.targets is None:
            # No AWS to ask: a name said without a kind is taken for the one said with it.
            return one.kind is None or other.kind is None or one.kind == other.kind
        try:
            return self.canonical(one) == self.canonical(other)
        except (AmbiguousCluster, AmbiguousKind, UnknownPlace):
            return False
