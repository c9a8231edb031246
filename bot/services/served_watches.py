"""Which watches a tick serves: the config file's, then Slack's, less those it must leave out. One
rule for the digest and for `/iamauth watches`, which marks the watches left out and why."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.adapters.aws.errors import AwsError
from bot.domain.access import AccessPolicy
from bot.domain.address import Address
from bot.domain.watches import Watch


class WatchSource(Protocol):
    def list_watches(self) -> list[Watch]:
        """The watches added from Slack; the config file's are given to the pipeline."""
        ...


class ClusterNames(Protocol):
    def same(self, one: Address, other: Address) -> bool:
        """Whether two names are one cluster; AwsError when AWS could not tell."""
        ...


NOT_READABLE = "its channel may not read this cluster"


@dataclass(frozen=True)
class Skipped:
    watch: Watch
    reason: str  # for people: why the digest leaves it out


def origin(watch: Watch) -> str:
    return "config file" if watch.source == "config" else "added from Slack"


def all_watches(config_watches: Sequence[Watch], store: WatchSource) -> list[Watch]:
    """Every watch, the config file's first: of two watches of one cluster for one channel, the
    first is served."""
    return [*config_watches, *store.list_watches()]


def deliverable(
    watches: Iterable[Watch], policy: AccessPolicy, identity: ClusterNames
) -> tuple[list[Watch], list[Skipped]]:
    """The watches the digest serves, in order, and those it leaves out: one whose channel may not
    read its cluster (made before the read rule was, or in the config file), and a second watch
    of a cluster for a channel (named another way; the first, config before Slack, is served)."""
    served: dict[tuple[str, str], list[Watch]] = {}  # (channel, short name) → watches served
    kept: list[Watch] = []
    skipped: list[Skipped] = []
    for watch in watches:
        if not policy.may_read(watch.cluster, watch.channel):
            skipped.append(Skipped(watch, NOT_READABLE))
            continue
        group = served.setdefault((watch.channel, watch.cluster.cluster), [])
        twin = _twin(identity, watch.cluster, group)
        if twin is not None:
            reason = f"the same cluster as `{twin.cluster}` ({origin(twin)}) for this channel"
            skipped.append(Skipped(watch, reason))
            continue
        group.append(watch)
        kept.append(watch)
    return kept, skipped


def _twin(identity: ClusterNames, cluster: Address, watches: Iterable[Watch]) -> Watch | None:
    """The first of `watches` that names `cluster`; where that cannot be told, none."""
    for watch in watches:
        try:
            if identity.same(watch.cluster, cluster):
                return watch
        except AwsError:
            continue  # both are served; the tick logs why their place cannot be read
    return None
