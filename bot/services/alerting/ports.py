"""What the digest pipeline needs from outside, as Protocols: the store it reads and writes, what
it reads from AWS, whether two names are one cluster, and the renderer. In production bot/store's
Store, aws_reads.py's AwsAlertReads, bot/services/cluster_identity.py's ClusterIdentity and the Block Kit
renderer (bot/views/digest.py) fill them; tests/unit/alerting/fakes.py in memory."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.adapters.store.fence import Fence
from bot.adapters.store.repo import AlertMessage, Digest
from bot.domain.address import Address
from bot.domain.alerts import AlertState, StateKey
from bot.domain.metrics import Series
from bot.domain.summary import FailureSummary
from bot.domain.window import Window
from bot.services.alerting.group import ClusterNotices
from bot.services.served_watches import ClusterNames as ClusterNames
from bot.services.served_watches import WatchSource as WatchSource

# One channel's digest as (fallback text, Block Kit blocks as dicts), from its clusters (listed
# in order) and the end of the evaluated windows.
RenderDigest = Callable[[Sequence[ClusterNotices], datetime], tuple[str, list[dict[str, Any]]]]


class MessageView(Protocol):
    """The renderer of alert messages edited in place (bot/views/digest.py): a cluster's part
    as stored (JSON), and the whole message from its parts."""

    def part(
        self,
        item: ClusterNotices,
        previous: Mapping[str, Any] | None,
        acknowledged: tuple[str, datetime] | None,
    ) -> dict[str, Any]:
        """`item`'s part, its notices replacing what `previous` showed of their families."""
        ...

    def message(
        self, parts: Sequence[Mapping[str, Any]], evaluated_to: datetime
    ) -> tuple[str, list[dict[str, Any]]]: ...

    def unwatched(self, previous: Mapping[str, Any], by: str | None) -> dict[str, Any]:
        """`previous` for a cluster no longer watched (by `by`): nothing of it fires here."""
        ...


class AlertStore(WatchSource, Protocol):
    def write_held_audit(self) -> None:
        """Audit entries held while the database was down, written before anything else."""
        ...

    def alert_states(self) -> dict[StateKey, AlertState]: ...

    def alert_messages(self, keys: Iterable[str]) -> Mapping[str, AlertMessage]:
        """The alert messages `keys` as last shown (those still stored)."""
        ...

    def active_silences(self, now: datetime) -> Collection[Address]: ...

    def commit_tick(
        self,
        states: Mapping[StateKey, AlertState],
        digests: Iterable[Digest],
        now: datetime,
        *,
        stale_keys: Iterable[str] = (),
        fence: Fence | None = None,
        messages: Iterable[AlertMessage] = (),
    ) -> list[int]:
        """States, digests (the outbox), alert messages and the removal of stale states, in one
        transaction;
        with a fence, only while its lease holds (else LeaseLost, nothing written)."""
        ...


class AwsReads(Protocol):
    """What a tick reads from AWS. Each read raises one of `failures` when it failed (its place
    or its cluster could not be read); anything else is a bug, and ends the tick."""

    @property
    def failures(self) -> tuple[type[Exception], ...]: ...

    def place_of(self, cluster: Address) -> str:
        """The place (account/region) holding `cluster`, as a key: one metrics read per place."""
        ...

    def metrics(
        self, place: str, clusters: Sequence[Address], window: Window, names: Sequence[str]
    ) -> Mapping[Address, Mapping[str, Series]]:
        """The metrics `names` of `clusters`, all of `place`, in as few calls as can be."""
        ...

    def log_export_on(self, cluster: Address) -> bool:
        """Whether the cluster exports its `iam-db-auth-error` log (from its description)."""
        ...

    def log_summary(self, cluster: Address, window: Window, cap: int) -> FailureSummary | None:
        """What that log says of `window`, at most `cap` events; None when it has no group yet."""
        ...

    def top_workloads(
        self, cluster: Address, window: Window, summary: FailureSummary
    ) -> Sequence[tuple[str, int]]:
        """What the clients of `summary`'s failures are (the engine log matched to them, their
        addresses looked up in EC2), as plain text with their failures, most first; empty when
        the engine log export is off or no address names a workload."""
        ...
