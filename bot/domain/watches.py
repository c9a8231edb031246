"""Watches: which cluster's failures are alerted to which channel, and at what thresholds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from bot.domain.address import Address
from bot.domain.alerts import DEFAULT_REPEAT, Threshold
from bot.domain.records import Family
from bot.domain.text import shown
from bot.domain.window import WindowError, format_duration, parse_duration

# The config keys and command words of each family that can be watched.
FAMILY_KEYS: dict[str, Family] = {
    "invalid_token": Family.INVALID_TOKEN,
    "insufficient_permissions": Family.INSUFFICIENT_PERMISSIONS,
    "throttling": Family.THROTTLING,
    "server_error": Family.SERVER_ERROR,
}
KEY_OF_FAMILY = {family: key for key, family in FAMILY_KEYS.items()}
MAX_THRESHOLD_WINDOW = timedelta(hours=24)
# A firing alert is posted again at least weekly: the one limit of `repeat`, from Slack and from
# the config file alike (the file allowed 90d before, as a side effect of its generic durations).
MAX_REPEAT = timedelta(days=7)
MAX_PERIODS = 10
MAX_COUNT = 1_000_000
CHANNEL_ID = re.compile(r"\A[CGD][A-Z0-9]{2,20}\Z")
_SPEC = re.compile(r"\A(?P<family>[a-z_]+)\s*>=\s*(?P<count>[0-9]{1,7})\s*/\s*(?P<window>\w+)\Z")


class WatchError(ValueError):
    """A watch or threshold that cannot be used; the message says why, for a person. `field`
    names the part it is about (`cluster`, `channel`, `repeat`), for the config file's line."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Watch:
    cluster: Address  # parsed where it came in: the config file, Slack's text, a store row
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
        raise WatchError(
            f"`{shown(channel, 30)}` is not a Slack channel id (like `C0123456789`).", "channel"
        )
    return channel


def _repeat(repeat: timedelta | str) -> timedelta:
    """`repeat` as given (`4h` as typed or written in the file, or a duration), within its limit."""
    if isinstance(repeat, str):
        try:  # the spelling only: the limit is checked below, one way for both
            repeat = parse_duration(repeat, maximum=timedelta.max)
        except WindowError as error:
            raise WatchError(f"repeat: {error}", "repeat") from None
    if repeat > MAX_REPEAT:
        raise WatchError(
            f"repeat can be at most `{format_duration(MAX_REPEAT)}` (a firing alert is posted "
            "again at least once a week), in the config file as with `/iamauth watch`.",
            "repeat",
        )
    if repeat < timedelta(minutes=1):
        raise WatchError("repeat must be at least `1m`.", "repeat")
    return repeat


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
    cluster: Address,
    channel: str,
    thresholds: list[Threshold],
    *,
    repeat: timedelta | str = DEFAULT_REPEAT,
    send_resolved: bool = True,
    source: str = "slack",
    created_by: str | None = None,
) -> Watch:
    """A watch within every limit, the same from Slack and from the config file: `repeat` may be
    given as typed (`4h`), so both read it here."""
    if not thresholds:
        raise WatchError("A watch needs at least one threshold.")
    families = [t.family for t in thresholds]
    if len(set(families)) != len(families):
        raise WatchError("Give each family one threshold.")
    return Watch(
        cluster,
        validate_channel(channel),
        tuple(thresholds),
        _repeat(repeat),
        send_resolved,
        source,
        created_by,
    )


DEFAULT_THRESHOLDS = (
    Threshold(Family.INVALID_TOKEN, 5, timedelta(minutes=5)),
    Threshold(Family.INSUFFICIENT_PERMISSIONS, 1, timedelta(minutes=15)),
)
