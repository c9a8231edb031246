"""Who may ask and change what. Pure: group membership is passed in by the caller.

- Read commands (failures, metrics, watches, the Show failures button) work in a channel when the
  cluster's own `channels` list, or else the global `channels` list, names it or holds "*".
- Change commands (watch, unwatch, silence, unsilence, the Silence button) need an admin or one of
  the cluster's owners. Admin commands (audit, enable-logs and its button) need an admin.
- Admins and owners are Slack user ids (U…/W…) or user group ids (S…).
- With no [access] table in the config the policy is open (everyone may do everything); the bot
  says so in `/iamauth help` and in its start-up log.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

ANY = "*"


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


@dataclass(frozen=True)
class AccessPolicy:
    enforced: bool = False
    admins: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset({ANY})
    clusters: Mapping[str, ClusterAccess] = field(default_factory=dict)

    def groups_mentioned(self, cluster: str | None) -> frozenset[str]:
        """User group ids whose membership decides a change to `cluster` (admins' and owners')."""
        ids = set(self.admins)
        if cluster and cluster in self.clusters:
            ids |= self.clusters[cluster].owners
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
    ) -> Decision:
        """`groups`: the user groups (among groups_mentioned) that `user` belongs to."""
        if not self.enforced:
            return Decision(True)
        if kind is Kind.READ:
            rule = self.clusters.get(cluster or "")
            allowed_channels = (
                rule.channels if rule and rule.channels is not None else self.channels
            )
            if ANY in allowed_channels or channel in allowed_channels:
                return Decision(True)
            what = f"`{cluster}`" if cluster else "iamauth"
            return Decision(False, f"{what} may not be queried from this channel.")
        if self.is_admin(user, groups):
            return Decision(True)
        if kind is Kind.ADMIN:
            return Decision(False, "Only iamauth admins may do that.")
        rule = self.clusters.get(cluster or "")
        owners = rule.owners if rule else frozenset()
        if user in owners or groups & owners:
            return Decision(True)
        return Decision(False, f"Only admins and the owners of `{cluster}` may change its alerts.")
