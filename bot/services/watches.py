"""Managing watches and silences: what `/iamauth watch`, `unwatch`, `watches`, `silence` and
`unsilence` do, whatever front end asks. Each change takes the audit entry that records it, written
in the change's own transaction. Silences name clusters as watches do (bot/domain/address.py).
Refusals are data (the WatchError subclasses below); bot/views/watches.py words them.

One watch per cluster and channel: two names of one cluster (bot/services/cluster_identity.py) are
one watch, so `watch` refuses a second and the digest serves the first only
(bot/services/served_watches.py `deliverable`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.adapters.aws.errors import AwsError
from bot.adapters.store.repo import (
    REPLY,
    UPDATE,
    AlertMessage,
    AuditEntry,
    Digest,
    Farewell,
    MessagePart,
    Silence,
    Store,
)
from bot.domain.access import AccessPolicy
from bot.domain.address import Address
from bot.domain.alerts import AlertState
from bot.domain.records import Family
from bot.domain.watches import Watch, WatchError
from bot.services.cluster_identity import ClusterIdentity
from bot.services.served_watches import all_watches, deliverable

MAX_SILENCE = timedelta(days=30)
# The last digest of an unwatched cluster (bot/views/unwatched.py): the cluster, the alerts its
# channel heard firing and not ending, who unwatched it → (fallback text, Block Kit blocks).
FarewellView = Callable[
    [Address, Mapping[Family, AlertState], str | None], tuple[str, list[dict[str, Any]]]
]


class UnwatchedView(Protocol):
    """What an unwatch needs of the alert messages' renderer (bot/views/digest.py's
    AlertMessageView): a part for a cluster no longer watched, and the message from its parts."""

    def unwatched(self, previous: Mapping[str, Any], by: str | None) -> dict[str, Any]: ...

    def message(
        self, parts: Sequence[Mapping[str, Any]], evaluated_to: datetime
    ) -> tuple[str, list[dict[str, Any]]]: ...


class UndecidedIdentity(WatchError):
    """Whether `cluster` is a cluster already watched for `channel` could not be told (AWS)."""

    def __init__(self, cluster: Address, channel: str, reason: str) -> None:
        super().__init__(f"{cluster} for {channel}: {reason}")
        self.cluster, self.channel, self.reason = cluster, channel, reason


class WatchedInConfig(WatchError):
    """`cluster` is watched for `channel` in the config file (as `watch.cluster`): changed there."""

    def __init__(self, cluster: Address, channel: str, watch: Watch, action: str) -> None:
        super().__init__(f"{cluster} for {channel} is in the config file")
        self.cluster, self.channel, self.watch, self.action = cluster, channel, watch, action


class WatchedAsTwin(WatchError):
    """`watch` names a cluster that `twin` watches for the same channel under another name."""

    def __init__(self, watch: Watch, twin: Watch) -> None:
        super().__init__(f"{watch.cluster} is {twin.cluster} for {watch.channel}")
        self.watch, self.twin = watch, twin


@dataclass(frozen=True)
class WatchListing:
    watches: list[Watch]
    silences: dict[Address, Silence]
    # Watch key → why the digest leaves that watch out (see served.py's `deliverable`).
    not_sent: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Unwatched:
    removed: int
    cluster: Address  # as the removed watch named it
    told: bool  # its channel is owed a last digest: alerts it heard firing are followed no more


class WatchService:
    def __init__(
        self,
        store: Store,
        config_watches: Sequence[Watch],
        clock: Callable[[], datetime],
        *,
        identity: ClusterIdentity | None = None,
        policy: AccessPolicy | None = None,
        farewell: FarewellView | None = None,
        messages: UnwatchedView | None = None,
    ) -> None:
        self.store = store
        self.config_watches = tuple(config_watches)
        self.clock = clock
        self.identity = identity or ClusterIdentity(None)
        self.policy = policy or AccessPolicy()
        # None: an unwatched channel is not told (only services built without views).
        self.farewell = farewell
        # Edits an alert message whose cluster is unwatched (None: only a digest is posted).
        self.messages = messages

    def _watching(self, cluster: Address, channel: str, watches: Iterable[Watch]) -> Watch | None:
        """The watch of `channel` among `watches` that names `cluster`, by this text first."""
        mine = [w for w in watches if w.channel == channel]
        exact = next((w for w in mine if w.cluster == cluster), None)
        if exact is not None:
            return exact
        try:
            return next((w for w in mine if self.identity.same(w.cluster, cluster)), None)
        except AwsError as error:
            raise UndecidedIdentity(cluster, channel, str(error)) from None

    def _config_refusal(self, cluster: Address, channel: str, action: str) -> None:
        watch = self._watching(cluster, channel, self.config_watches)
        if watch is not None:
            raise WatchedInConfig(cluster, channel, watch, action)

    def add(self, watch: Watch, audit: AuditEntry | None = None) -> bool:
        """Save a Slack watch; True if new, False if it replaced one for the same channel."""
        self._config_refusal(watch.cluster, watch.channel, "change")
        twin = self._watching(watch.cluster, watch.channel, self.store.list_watches())
        if twin is not None and twin.cluster != watch.cluster:
            raise WatchedAsTwin(watch, twin)
        return self.store.save_watch(watch, self.clock(), audit)

    def remove(
        self,
        cluster: Address,
        channel: str,
        audit: AuditEntry | None = None,
        *,
        by: str | None = None,
    ) -> Unwatched:
        """Delete the Slack watch of `cluster` for `channel` (named either way). A channel that
        heard one of its alerts firing, and not its end, is told the watch is gone (unless the
        watch sends no resolved notices): in the same transaction, through the outbox."""
        self._config_refusal(cluster, channel, "remove")
        watch = self._watching(cluster, channel, self.store.list_watches())
        if watch is None:
            return Unwatched(0, cluster, told=False)
        told: list[Digest] = []
        farewell = self._farewell(by, told)
        removed = self.store.delete_watches(
            watch.cluster, channel, audit, farewell=farewell, now=self.clock()
        )
        return Unwatched(removed, watch.cluster, told=bool(told))

    def _farewell(self, by: str | None, told: list[Digest]) -> Farewell:
        def last_word(
            watch: Watch, states: Mapping[Family, AlertState], message: AlertMessage | None
        ) -> tuple[list[Digest], AlertMessage | None]:
            announced = {f: states[f] for f in sorted(states) if states[f].announced}
            if not (announced and watch.send_resolved) or self.farewell is None:
                return [], None
            if not self.policy.may_read(watch.cluster, watch.channel):
                return [], None  # it may not hear of this cluster at all any more
            text, blocks = self.farewell(watch.cluster, announced, by)
            edited = self._unwatched_edit(watch, message, by)
            if edited is None:
                told.append(Digest(watch.channel, text, blocks))
                return told, None
            # The episode's message says so, and its thread tells it.
            edit, shown = edited
            told.extend([edit, Digest(watch.channel, text, blocks, None, REPLY, shown.key)])
            return told, shown

        return last_word

    def _unwatched_edit(
        self, watch: Watch, message: AlertMessage | None, by: str | None
    ) -> tuple[Digest, AlertMessage] | None:
        """The edit of the episode's message for a watch removed (its part no longer firing),
        and the message as it will show; None without one."""
        if message is None or self.messages is None:
            return None
        parts = [
            MessagePart(p.watch_key, {}, self.messages.unwatched(p.view, by))
            if p.watch_key == watch.key
            else p
            for p in message.parts
        ]
        if parts == list(message.parts):
            return None
        text, blocks = self.messages.message([p.view for p in parts], message.evaluated_to)
        shown = replace(message, parts=tuple(parts), updated_at=self.clock())
        return Digest(watch.channel, text, blocks, None, UPDATE, message.key), shown

    def listing(self) -> WatchListing:
        watches = all_watches(self.config_watches, self.store)
        _, skipped = deliverable(watches, self.policy, self.identity)
        return WatchListing(
            watches,
            self.store.active_silences(self.clock()),
            {s.watch.key: s.reason for s in skipped},
        )

    def silence(
        self,
        cluster: Address,
        duration: timedelta,
        reason: str,
        by: str | None,
        audit: AuditEntry | None = None,
    ) -> datetime:
        if duration > MAX_SILENCE:
            raise WatchError("A silence can last at most `30d`.")
        now = self.clock()
        until = now + duration
        self.store.silence(cluster, until, reason[:500], by, now, audit)
        return until

    def acknowledge(
        self, cluster: Address, channel: str, by: str, audit: AuditEntry | None = None
    ) -> list[Family]:
        """`by` is on what the watch of `cluster` for `channel` has announced firing (the
        digest's Acknowledge button): no repeats until it escalates or resolves. The families
        acknowledged; none when nothing of that watch is firing."""
        keys = [
            w.key
            for w in all_watches(self.config_watches, self.store)
            if w.cluster == cluster and w.channel == channel
        ]
        return self.store.acknowledge(keys, by, self.clock(), audit)

    def watched_by_short_name(self, cluster: str) -> bool:
        """Whether a watch names `cluster` alone: a silence of one of its addresses does not
        cover that watch."""
        alone = Address(cluster)
        return any(w.cluster == alone for w in all_watches(self.config_watches, self.store))

    def unsilence(self, cluster: Address, audit: AuditEntry | None = None) -> bool:
        return self.store.unsilence(cluster, audit)
