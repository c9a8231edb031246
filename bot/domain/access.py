"""Who may ask and change what. Pure: group membership is passed in by the caller.

- One read rule: a cluster may be read in a channel when the cluster's own `channels` list, or
  else the global `channels` list, names it or holds "*". It decides the read commands (failures,
  metrics, logs, the Show failures button), what every list shows (`watches`, `clusters`: the
  clusters that may not be read in the asking channel are left out and counted), and where a
  cluster's digest may go (`watch` refuses a channel that may not read the cluster).
- Rules are keyed by the short name (a cluster is named by its text, as a command gives it, or by
  its Address, as a watch holds it): `[clusters.prod-db]` decides `prod-db` and every
  `account/region/prod-db` alike, so naming a cluster by its place never escapes its rule.
- Change commands (watch, unwatch, silence, unsilence, the Silence button) need an admin or one of
  the cluster's owners. Admin commands (audit, enable-logs and its button) need an admin.
- Admins and owners are Slack user ids (U…/W…) or user group ids (S…).
- With no [access] table in the config the policy is open (everyone may do everything); the bot
  says so in `/iamauth help` and in its start-up log.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from bot.domain.address import Address

ANY = "*"
T = TypeVar("T")


class Kind(enum.StrEnum):
    READ = "read"
    CHANGE = "change"
    ADMIN = "admin"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


@dataclass(frozen=True)
class ClusterAccess:
    channels: frozenset[str] | None = None  # None: the global list applies
    owners: frozenset[str] = frozenset()


def short_name(cluster: str | Address) -> str:
    """`prod-db` of `prod-db` or of `123456789012/us-east-1/prod-db` (an address's last part)."""
    if isinstance(cluster, Address):
        return cluster.cluster
    return cluster.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class AccessPolicy:
    enforced: bool = False
    admins: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset({ANY})
    clusters: Mapping[str, ClusterAccess] = field(default_factory=dict)

    def rule_for(self, cluster: str | Address | None) -> ClusterAccess | None:
        """The `[clusters.<name>]` rule of a cluster named by its short name or its address."""
        return self.clusters.get(short_name(cluster)) if cluster else None

    def may_read(self, cluster: str | Address, channel: str) -> bool:
        """The read rule: whether `cluster`'s data may be shown in (or sent to) `channel`."""
        if not self.enforced:
            return True
        rule = self.rule_for(cluster)
        allowed = rule.channels if rule and rule.channels is not None else self.channels
        return ANY in allowed or channel in allowed

    def may_list(self, channel: str) -> bool:
        """Whether any cluster at all may be read in `channel` (so a list there may show some)."""
        if not self.enforced:
            return True
        lists = [self.channels, *(r.channels for r in self.clusters.values() if r.channels)]
        return any(ANY in allowed or channel in allowed for allowed in lists)

    def readable(
        self, items: Iterable[T], cluster_of: Callable[[T], str | Address], channel: str
    ) -> tuple[list[T], int]:
        """The items whose cluster may be read in `channel`, and how many were left out."""
        items = list(items)
        shown = [item for item in items if self.may_read(cluster_of(item), channel)]
        return shown, len(items) - len(shown)

    def groups_mentioned(self, cluster: str | None) -> frozenset[str]:
        """User group ids whose membership decides a change to `cluster` (admins' and owners')."""
        ids = set(self.admins)
        rule = self.rule_for(cluster)
        if rule:
            ids |= rule.owners
        return frozenset(i for i in ids if i.startswith("S"))

    def is_admin(self, user: str, groups: frozenset[str]) -> bool:
        return user in self.admins or bool(groups & self.admins)

    def decide(
        self,
        kind: Kind,
        cluster: str | None,
        user: str,
        channel: str,
        groups: frozenset[str] = frozenset(),
        *,
        destination: str | None = None,
    ) -> Decision:
        """`groups`: the user groups (among groups_mentioned) that `user` belongs to.
        `destination`: a channel a change sends the cluster's data to (a watch's channel); it must
        be one where the cluster may be read, whoever asks."""
        if not self.enforced:
            return Decision(True)
        if kind is Kind.READ:
            if cluster is None:
                if self.may_list(channel):
                    return Decision(True)
                return Decision(False, "iamauth may not be queried from this channel.")
            if self.may_read(cluster, channel):
                return Decision(True)
            return Decision(False, f"`{cluster}` may not be queried from this channel.")
        decision = self._may_change(kind, cluster, user, groups)
        if decision.allowed and cluster and destination and not self.may_read(cluster, destination):
            return Decision(
                False,
                f"`{cluster}` may not be queried in the channel `{destination}`, so its alerts "
                "may not be sent there.",
            )
        return decision

    def _may_change(
        self, kind: Kind, cluster: str | None, user: str, groups: frozenset[str]
    ) -> Decision:
        if self.is_admin(user, groups):
            return Decision(True)
        if kind is Kind.ADMIN:
            return Decision(False, "Only iamauth admins may do that.")
        rule = self.rule_for(cluster)
        owners = rule.owners if rule else frozenset()
        if user in owners or groups & owners:
            return Decision(True)
        return Decision(False, f"Only admins and the owners of `{cluster}` may change its alerts.")
