"""Watches: which cluster's failures are alerted to which channel, and at what thresholds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from bot.domain.address import parse_address
from bot.domain.alerts import DEFAULT_REPEAT, Threshold
from bot.domain.identifiers import IdentifierError
from bot.domain.records import Family
from bot.domain.text import shown
from bot.domain.window import WindowError, parse_duration

# The config keys and command words of each family that can be watched.
FAMILY_KEYS: dict[str, Family] = {
    "invalid_token": Family.INVALID_TOKEN,
    "insufficient_permissions": Family.INSUFFICIENT_PERMISSIONS,
    "throttling": Family.THROTTLING,
    "server_error": Family.SERVER_ERROR,
}
KEY_OF_FAMILY = {family: key for key, family in FAMILY_KEYS.items()}
MAX_THRESHOLD_WINDOW = timedelta(hours=24)
MAX_PERIODS = 10
MAX_COUNT = 1_000_000
CHANNEL_ID = re.compile(r"\A[CGD][A-Z0-9]{2,20}\Z")
_SPEC = re.compile(r"\A(?P<family>[a-z_]+)\s*>=\s*(?P<count>[0-9]{1,7})\s*/\s*(?P<window>\w+)\Z")


class WatchError(ValueError):
    """A watch or threshold that cannot be used; the message says why, for a person."""


@dataclass(frozen=True)
class Watch:
    cluster: str
    channel: str
    thresholds: tuple[Threshold, ...]
    repeat: timedelta = DEFAULT_REPEAT
    send_resolved: bool = True
    source: str = "slack"  # "config" watches cannot be changed from Slack
    created_by: str | None = None

    @property
    def key(self) -> str:
        return f"{self.source}:{self.cluster}:{self.channel}"

    def describe(self) -> str:
        parts = [f"{KEY_OF_FAMILY[t.family]} {t.describe()}" for t in self.thresholds]
        return ", ".join(parts)


def validate_channel(channel: str) -> str:
    if not CHANNEL_ID.match(channel):
        raise WatchError(f"`{shown(channel, 30)}` is not a Slack channel id (like `C0123456789`).")
    return channel


def make_threshold(
    key: str, count: object, window: object, periods: object = 1, breaching: object = None
) -> Threshold:
    family = FAMILY_KEYS.get(key)
    if family is None:
        raise WatchError(
            f"`{shown(key, 40)}` is not a family to watch: use {', '.join(FAMILY_KEYS)}."
        )
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_COUNT:
        raise WatchError(f"{key}: count must be a whole number from 1 to {MAX_COUNT:,}.")
    if not isinstance(window, str):
        raise WatchError(f'{key}: window must be written like "5m".')
    try:
        duration = parse_duration(window, maximum=MAX_THRESHOLD_WINDOW)
    except WindowError as error:
        raise WatchError(f"{key}: {error}") from None
    if not isinstance(periods, int) or isinstance(periods, bool) or not 1 <= periods <= MAX_PERIODS:
        raise WatchError(f"{key}: periods must be a whole number from 1 to {MAX_PERIODS}.")
    breaching = periods if breaching is None else breaching
    if (
        not isinstance(breaching, int)
        or isinstance(breaching, bool)
        or not 1 <= breaching <= periods
    ):
        raise WatchError(f"{key}: breaching must be a whole number from 1 to periods ({periods}).")
    return Threshold(family, count, duration, periods, breaching)


def parse_threshold_spec(spec: str) -> Threshold:
    """`invalid_token>=5/5m` → Threshold."""
    match = _SPEC.match(spec.strip().lower())
    if match is None:
        raise WatchError(
            f"`{shown(spec, 60)}` is not a threshold: write it like `invalid_token>=5/5m`."
        )
    return make_threshold(match["family"], int(match["count"]), match["window"])


def make_watch(
    cluster: str,
    channel: str,
    thresholds: list[Threshold],
    *,
    repeat: timedelta = DEFAULT_REPEAT,
    send_resolved: bool = True,
    source: str = "slack",
    created_by: str | None = None,
) -> Watch:
    if not thresholds:
        raise WatchError("A watch needs at least one threshold.")
    families = [t.family for t in thresholds]
    if len(set(families)) != len(families):
        raise WatchError("Give each family one threshold.")
    try:
        cluster = str(parse_address(cluster))  # a short name, or account/region/name
    except IdentifierError as error:
        raise WatchError(str(error)) from None
    return Watch(
        cluster,
        validate_channel(channel),
        tuple(thresholds),
        repeat,
        send_resolved,
        source,
        created_by,
    )


DEFAULT_THRESHOLDS = (
    Threshold(Family.INVALID_TOKEN, 5, timedelta(minutes=5)),
    Threshold(Family.INSUFFICIENT_PERMISSIONS, 1, timedelta(minutes=15)),
)
