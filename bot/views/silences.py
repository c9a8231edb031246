"""Replies of `/iamauth silence` (and the digest's "Silence 1h" button) and `/iamauth unsilence`."""

from __future__ import annotations

from datetime import datetime

from bot.domain.address import Address
from bot.views.blocks import Message, plain
from bot.views.mrkdwn import escape, shorten


def silenced(
    address: Address, until: datetime, reason: str, *, short_name_watched: bool
) -> Message:
    """`short_name_watched`: a watch names the cluster alone, which a silence of one of its
    addresses does not cover."""
    cluster = str(address)
    because = f" ({escape(shorten(reason, 200))})" if reason else ""
    uncovered = ""
    if address.account and short_name_watched:
        uncovered = (
            f" Watches of plain `{address.cluster}` are not covered: "
            f"`/iamauth silence {address.cluster} …` silences those."
        )
    return plain(
        f":no_bell: Alerts of `{cluster}` are silenced until {until:%Y-%m-%d %H:%M} UTC{because}. "
        f"They are still evaluated; `/iamauth unsilence` ends it early.{uncovered}"
    )


def unsilenced(cluster: str, was_silenced: bool) -> Message:
    if was_silenced:
        return plain(f":bell: Alerts of `{cluster}` are no longer silenced.")
    return plain(f"`{cluster}` was not silenced.")
