"""Stage 6, I/O: the tick's alert states and the digests they owe, in one transaction, under the
leader's fence (bot/adapters/store/fence.py): a scheduler that lost the lead mid-tick writes nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.adapters.store.fence import Fence
from bot.adapters.store.repo import AlertMessage, Digest
from bot.domain.alerts import AlertState, StateKey
from bot.services.alerting.group import ChannelDigest
from bot.services.alerting.ports import AlertStore, RenderDigest


def outbox_digest(digest: ChannelDigest, render: RenderDigest, end: datetime) -> Digest:
    """What the outbox holds for a channel: the rendered digest and its chart's spec."""
    text, blocks = render(digest.listed(), end)
    return Digest(digest.channel, text, blocks, digest.chart.to_json() if digest.chart else None)


def commit(
    store: AlertStore,
    states: Mapping[StateKey, AlertState],
    digests: Sequence[Digest],
    now: datetime,
    *,
    stale: Sequence[str],
    fence: Fence | None,
    messages: Sequence[AlertMessage] = (),
) -> list[int]:
    """The outbox ids of `digests`; LeaseLost (nothing written) once `fence` no longer holds."""
    return store.commit_tick(states, digests, now, stale_keys=stale, fence=fence, messages=messages)
