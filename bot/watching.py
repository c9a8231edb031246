"""Managing watches and silences: what `/iamauth watch`, `unwatch`, `watches`, `silence` and
`unsilence` do, whatever front end asks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.watches import Watch, WatchError
from bot.store.repo import Silence, Store

MAX_SILENCE = timedelta(days=30)


@dataclass(frozen=True)
class WatchListing:
    watches: list[Watch]
    silences: dict[str, Silence]


class WatchService:
    def __init__(
        self, store: Store, config_watches: Sequence[Watch], clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.config_watches = tuple(config_watches)
        self.clock = clock

    def _from_config(self, cluster: str, channel: str | None) -> list[Watch]:
        return [
            w
            for w in self.config_watches
            if w.cluster == cluster and (channel is None or w.channel == channel)
        ]

    def add(self, watch: Watch) -> bool:
        """Save a Slack watch; True if new, False if it replaced one for the same channel."""
        if self._from_config(watch.cluster, watch.channel):
            raise WatchError(
                f"`{watch.cluster}` is watched for <#{watch.channel}> in the config file; "
                "change it there."
            )
        return self.store.save_watch(watch, self.clock())

    def remove(self, cluster: str, channel: str) -> int:
        if self._from_config(cluster, channel):
            raise WatchError(
                f"`{cluster}` is watched for <#{channel}> in the config file; remove it there."
            )
        return self.store.delete_watches(cluster, channel)

    def listing(self) -> WatchListing:
        return WatchListing(
            [*self.config_watches, *self.store.list_watches()],
            self.store.active_silences(self.clock()),
        )

    def silence(self, cluster: str, duration: timedelta, reason: str, by: str | None) -> datetime:
        if duration > MAX_SILENCE:
            raise WatchError("A silence can last at most `30d`.")
        now = self.clock()
        until = now + duration
        self.store.silence(cluster, until, reason[:500], by, now)
        return until

    def unsilence(self, cluster: str) -> bool:
        return self.store.unsilence(cluster)
