"""Which watches a tick serves: the read rule, and one watch per cluster and channel."""

from __future__ import annotations

from bot.adapters.aws.errors import AwsUnreachable
from bot.domain.access import AccessPolicy, ClusterAccess
from bot.domain.address import Address
from bot.services.cluster_identity import ClusterIdentity
from bot.services.served_watches import NOT_READABLE, all_watches, deliverable
from tests.unit.alerting.fakes import MemoryStore, watch

EDGE = "123456789012/us-east-1/edge-db"


class CannotTell:
    """Two names of one short name, and AWS does not answer which place holds it."""

    def same(self, one: Address, other: Address) -> bool:
        if one == other:
            return True
        raise AwsUnreachable("no answer")


def test_the_config_files_watches_come_first() -> None:
    config = [watch("orders-db", source="config")]
    store = MemoryStore(watches=[watch("prod-db")])
    assert [str(w.cluster) for w in all_watches(config, store)] == ["orders-db", "prod-db"]


def test_a_channel_that_may_not_read_its_cluster_is_left_out() -> None:
    policy = AccessPolicy(
        enforced=True,
        channels=frozenset({"C0ALERTS01"}),
        clusters={"secret-db": ClusterAccess(channels=frozenset({"C0SECRET01"}))},
    )
    watches = [watch("secret-db"), watch("prod-db"), watch("secret-db", "C0SECRET01")]
    kept, skipped = deliverable(watches, policy, ClusterIdentity(None))
    assert kept == watches[1:]
    assert [(s.watch, s.reason) for s in skipped] == [(watches[0], NOT_READABLE)]


def test_a_second_name_of_a_cluster_for_a_channel_is_left_out_the_first_served() -> None:
    first = watch("edge-db", source="config")
    second = watch(EDGE)  # the same cluster: one place, so the short name is that one
    elsewhere = watch(EDGE, "C0ALERTS02")
    kept, skipped = deliverable([first, second, elsewhere], AccessPolicy(), ClusterIdentity(None))
    assert kept == [first, elsewhere]
    [left_out] = skipped
    assert left_out.watch == second
    assert left_out.reason == "the same cluster as `edge-db` (config file) for this channel"


def test_where_aws_cannot_tell_both_names_are_served() -> None:
    watches = [watch("edge-db"), watch(EDGE)]
    kept, skipped = deliverable(watches, AccessPolicy(), CannotTell())
    assert (kept, skipped) == (watches, [])
