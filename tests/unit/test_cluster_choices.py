"""The modals' cluster menu names each database as a command would take it: by its short name where
that names one database, else by the place and kind that tell it apart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from bot.adapters.aws.errors import AwsError
from bot.adapters.aws.targets import Place, Targets
from bot.domain.cluster import CLUSTER, INSTANCE, ClusterInfo, Kind
from bot.services.clusters import cluster_choices

EAST = Place("prod", "111111111111", "us-east-1")
WEST = Place("prod", "111111111111", "us-west-2")
BROKEN = Place("other", "222222222222", "eu-west-1")


def info(identifier: str, kind: Kind = CLUSTER, *, iam: bool = True) -> ClusterInfo:
    return ClusterInfo(identifier, "aurora-postgresql", "available", iam, (), (), kind=kind)


class FakeTargets:
    """each_place/inventory as Targets answers them: an AwsError for a place it cannot read."""

    def __init__(self, inventories: dict[Place, list[ClusterInfo] | AwsError]) -> None:
        self.inventories = inventories

    def inventory(self, place: Place) -> list[ClusterInfo] | AwsError:
        return self.inventories[place]

    def each_place(self, work: Callable[[Place], Any]) -> list[tuple[Place, Any]]:
        return [(place, work(place)) for place in self.inventories]


def test_names_are_short_unless_a_place_or_kind_must_tell_them_apart() -> None:
    targets = FakeTargets(
        {
            EAST: [
                info("orders-db"),
                info("shared-db"),
                info("twin-db"),
                info("twin-db", INSTANCE),
            ],
            WEST: [info("shared-db"), info("no-iam-db", iam=False)],
            BROKEN: AwsError("AccessDenied"),
        }
    )
    choices = cluster_choices(cast(Targets, targets))
    assert [(str(c.address), c.place) for c in choices] == [
        ("orders-db", "111111111111/us-east-1"),
        ("111111111111/us-east-1/shared-db", "111111111111/us-east-1"),
        ("111111111111/us-west-2/shared-db", "111111111111/us-west-2"),
        ("cluster:twin-db", "111111111111/us-east-1"),
        ("instance:twin-db", "111111111111/us-east-1"),
    ]
