"""Stage 3, pure: the notices of a tick grouped into one digest per channel, each listing the
clusters that changed there."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.domain.address import Address
from bot.domain.alerts import Notice, NoticeKind
from bot.domain.chart_spec import DigestChart
from bot.domain.summary import FailureSummary
from bot.domain.watches import Watch


@dataclass(frozen=True)
class ClusterNotices:
    """One cluster's part of a digest: what the renderer draws (enrich adds the log detail)."""

    cluster: Address
    notices: tuple[Notice, ...]
    summary: FailureSummary | None = None  # from the log of the breaching window, if exported
    log_export_on: bool | None = None
    log_window: str = ""
    # The top workloads behind the failures' client addresses (text, failures), when the
    # engine log export is on and they were found in time.
    workloads: tuple[tuple[str, int], ...] = ()

    @property
    def breaching(self) -> tuple[Notice, ...]:
        """News of a breach (firing, repeated, escalated): not the resolved notices."""
        return tuple(n for n in self.notices if n.kind is not NoticeKind.RESOLVED)


@dataclass(frozen=True)
class ChannelDigest:
    channel: str
    # In the order the tick met them (a chart is chosen in that order); listed sorted.
    clusters: tuple[ClusterNotices, ...]
    chart: DigestChart | None = None  # enrich picks it
    # The alert message whose episodes these notices go on (edited in place, replied to in its
    # thread: in_place.py); None: they start a message of their own.
    message: str | None = None

    def listed(self) -> list[ClusterNotices]:
        """The clusters as the digest lists them: by their address."""
        return sorted(self.clusters, key=lambda item: str(item.cluster))


def group(
    notices: Sequence[tuple[Watch, Notice]],
    message_of: Callable[[Watch], str | None] = lambda watch: None,
) -> list[ChannelDigest]:
    """One digest per channel and alert message (`message_of` a watch's open one), in the order
    their first notice came."""
    by_channel: dict[tuple[str, str | None], dict[Address, list[Notice]]] = {}
    for watch, notice in notices:
        place = (watch.channel, message_of(watch))
        by_channel.setdefault(place, {}).setdefault(watch.cluster, []).append(notice)
    return [
        ChannelDigest(
            channel,
            tuple(ClusterNotices(cluster, tuple(found)) for cluster, found in clusters.items()),
            message=message,
        )
        for (channel, message), clusters in by_channel.items()
    ]
