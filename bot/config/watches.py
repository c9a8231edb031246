"""[[watch]] tables → domain Watches (bot.domain.watches.make_watch checks the values).

A threshold is an inline table (`invalid_token = { count = 5, window = "5m" }`) or a table of its
own over several lines (`[watch.invalid_token]`); either way its errors are at the wrong part.
"""

from __future__ import annotations

from bot.config.file import Table, plain
from bot.domain.address import parse_address
from bot.domain.alerts import DEFAULT_REPEAT, Threshold
from bot.domain.identifiers import IdentifierError
from bot.domain.watches import (
    FAMILY_KEYS,
    Watch,
    WatchError,
    make_threshold,
    make_watch,
    validate_channel,
)

WATCH_KEYS = frozenset({"cluster", "channel", "repeat", "send_resolved", *FAMILY_KEYS})
THRESHOLD_KEYS = frozenset({"count", "window", "periods", "breaching"})


def read_watches(file: Table) -> tuple[Watch, ...]:
    watches: list[Watch] = []
    for entry in file.tables("watch"):
        watch = _watch(entry)
        if any(w.cluster == watch.cluster and w.channel == watch.channel for w in watches):
            # Found only once the names are normalised: `PROD-DB` is `prod-db`.
            raise entry.error(f"{watch.cluster} is watched twice for {watch.channel}.", "cluster")
        watches.append(watch)
    return tuple(watches)


def _watch(entry: Table) -> Watch:
    entry.refuse_unknown(WATCH_KEYS)
    cluster = entry.required_string("cluster")
    channel = entry.required_string("channel")
    thresholds = [_threshold(entry, key) for key in FAMILY_KEYS if key in entry.values]
    if not thresholds:
        raise entry.error("[[watch]] needs at least one threshold.")
    repeat = entry.values.get("repeat")  # read by make_watch, which owns its limit
    if repeat is not None and not isinstance(repeat, str):
        raise entry.error('[[watch]] repeat must be a window like "4h".', "repeat")
    send_resolved = entry.boolean("send_resolved", True)
    try:
        validate_channel(channel)
    except WatchError as error:
        raise entry.error(plain(error), "channel") from None
    try:
        address = parse_address(cluster)
    except IdentifierError as error:
        raise entry.error(plain(error), "cluster") from None
    try:
        return make_watch(
            address,
            channel,
            thresholds,
            repeat=DEFAULT_REPEAT if repeat is None else repeat,
            send_resolved=send_resolved,
            source="config",
        )
    except WatchError as error:
        refusal = plain(error)
        if error.field == "repeat":
            refusal = f"[[watch]] {refusal}"
        raise entry.error(refusal, error.field or "cluster") from None


def _threshold(entry: Table, key: str) -> Threshold:
    spec = entry.table(
        key, THRESHOLD_KEYS, wrong=f'{key} must look like {{ count = 5, window = "5m" }}.'
    )
    values = spec.values
    try:
        return make_threshold(
            key,
            values.get("count"),
            values.get("window"),
            values.get("periods", 1),
            values.get("breaching"),
        )
    except WatchError as error:
        raise spec.error(str(error), *_threshold_part(key, str(error))) from None


def _threshold_part(key: str, reason: str) -> tuple[str, ...]:
    """The part of a threshold that make_threshold's message is about (`{key}: count must…`),
    for a threshold written as a [watch.<key>] table over several lines."""
    named = [p for p in THRESHOLD_KEYS if reason.startswith(f"{key}: {p} ")]
    return tuple(named) or (("window",) if "window" in reason else ())
