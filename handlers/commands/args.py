"""Reading the words after a subcommand: `<cluster> [window] [public]` and its optional words."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import timedelta

from bot.domain.address import Address, parse_address
from bot.domain.identifiers import IdentifierError
from bot.domain.window import DEFAULT_WINDOW, WindowError, parse_duration


class UsageError(ValueError):
    """The command was typed wrong; the message tells the person how to type it."""


@dataclass(frozen=True)
class ClusterQuery:
    address: Address
    duration: timedelta
    flags: frozenset[str] = field(default_factory=frozenset)  # optional words given, lower case


def cluster_query(
    subcommand: str, words: list[str], max_window: timedelta, flags: Collection[str] = ()
) -> ClusterQuery:
    """`<cluster> [window]`; any of `flags` (optional words such as `clients`) may stand anywhere
    after the cluster."""
    options = "".join(f" [{flag}]" for flag in flags)
    usage = f"Usage: `/iamauth {subcommand} <cluster> [window]{options}`, for example `/iamauth {subcommand} prod-db 24h`."
    if not words:
        raise UsageError(f"Which cluster? {usage}")
    given = frozenset(w.lower() for w in words[1:] if w.lower() in flags)
    words = words[:1] + [w for w in words[1:] if w.lower() not in flags]
    if len(words) > 2:
        raise UsageError(f"Too many words. {usage}")
    address = cluster_address(words[0])
    try:
        duration = parse_duration(
            words[1] if len(words) > 1 else DEFAULT_WINDOW, maximum=max_window
        )
    except WindowError as error:
        raise UsageError(str(error)) from None
    return ClusterQuery(address, duration, given)


def cluster_address(word: str) -> Address:
    """`prod-db`, or `123456789012/us-east-1/prod-db` where the short name is ambiguous, or
    `instance:prod-db` / `cluster:prod-db` where a cluster and a DB instance share it."""
    try:
        return parse_address(word)
    except IdentifierError as error:
        raise UsageError(str(error)) from None


_CHANNEL_REF = re.compile(r"\A<#(?P<id>[CG][A-Z0-9]{2,20})(?:\|[^>]*)?>\Z")


def channel_ref(word: str) -> str | None:
    """The id in Slack's `<#C0123|name>` channel syntax, or None when the word is not one."""
    match = _CHANNEL_REF.match(word)
    return match["id"] if match else None
