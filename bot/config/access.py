"""[access] admins/channels and [clusters.<name>] channels/owners → the AccessPolicy."""

from __future__ import annotations

import re

from bot.config.file import Table, plain
from bot.domain.access import ANY, AccessPolicy, ClusterAccess
from bot.domain.identifiers import IdentifierError, validate_cluster_id
from bot.domain.watches import CHANNEL_ID

PRINCIPAL = re.compile(r"\A[UWS][A-Z0-9]{2,20}\Z")
_PEOPLE = "a Slack user id (U…) or user group id (S…)"
_CHANNELS = 'a channel id (C…) or "*"'


def read_access(file: Table) -> AccessPolicy:
    """Open (everyone may do everything) when the file has neither table."""
    if "access" not in file.values and "clusters" not in file.values:
        return AccessPolicy()
    access = file.table("access", {"admins", "channels"})
    admins = _people(access, "admins")
    channels = _channels(access)
    return AccessPolicy(
        enforced=True,
        admins=admins,
        channels=channels if channels is not None else frozenset({ANY}),
        clusters=_clusters(file.table("clusters")),
    )


def _clusters(clusters: Table) -> dict[str, ClusterAccess]:
    rules: dict[str, ClusterAccess] = {}
    for name in clusters.values:
        try:
            cluster = validate_cluster_id(name)
        except IdentifierError as error:
            raise clusters.error(plain(error), name) from None
        rule = clusters.table(
            name, {"channels", "owners"}, wrong=f"[clusters.{name}] takes `channels` and `owners`."
        )
        rules[cluster] = ClusterAccess(channels=_channels(rule), owners=_people(rule, "owners"))
    return rules


def _channels(table: Table) -> frozenset[str] | None:
    """None when absent: a cluster's rule then follows [access] channels."""
    values = table.strings(
        "channels",
        lambda value: value == ANY or bool(CHANNEL_ID.match(value)),
        refused=lambda value: f"{table.label} channels: {value!r} is not {_CHANNELS}.",
    )
    return None if values is None else frozenset(values)


def _people(table: Table, key: str) -> frozenset[str]:
    values = table.strings(
        key,
        lambda value: bool(PRINCIPAL.match(value)),
        refused=lambda value: f"{table.label} {key}: {value!r} is not {_PEOPLE}.",
    )
    return frozenset(values or ())
