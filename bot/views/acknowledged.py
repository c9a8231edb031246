"""Replies of the digest's Acknowledge button."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.address import Address
from bot.domain.records import Family
from bot.views.blocks import Message, plain


def acknowledged(address: Address, families: Sequence[Family], user: str) -> Message:
    """In the channel: who is on which alerts (`user` is a checked Slack user id, or "")."""
    who = f"<@{user}>" if user else "Someone"
    names = ", ".join(f"*{f.value}*" for f in families)
    return plain(
        f":eyes: {who} acknowledged `{address}` ({names}): no repeats until it escalates or "
        "resolves."
    )


def nothing_to_acknowledge(address: Address) -> Message:
    return plain(f"Nothing of `{address}` is firing in this channel now: nothing to acknowledge.")


ACK_MARK = ":eyes: Acknowledged by"


def acknowledgement_line(user: str, at: datetime) -> str:
    """Who is on a cluster's alerts, under its part of the digest (`user`: a checked id)."""
    return f"{ACK_MARK} <@{user}> at {at:%H:%M} UTC"


def with_acknowledgement(
    blocks: Sequence[Any], action_id: str, cluster: str, user: str, at: datetime
) -> list[dict[str, Any]] | None:
    """The digest's blocks (as Slack sent them back with the click) showing who acknowledged
    `cluster`: a line in the context block above its buttons, replacing an earlier one. None
    when the digest has no such buttons (or `user` is not a checked id): nothing to show it in."""
    if not user:
        return None
    out = [dict(b) if isinstance(b, dict) else b for b in blocks]
    for i, block in enumerate(out):
        if not (isinstance(block, dict) and block.get("type") == "actions" and i > 0):
            continue
        elements = block.get("elements")
        if not isinstance(elements, list) or not any(
            isinstance(e, dict) and e.get("action_id") == action_id and e.get("value") == cluster
            for e in elements
        ):
            continue
        above = out[i - 1]
        if not (isinstance(above, dict) and above.get("type") == "context"):
            return None
        kept = [
            e
            for e in above.get("elements") or []
            if not (isinstance(e, dict) and str(e.get("text", "")).startswith(ACK_MARK))
        ][:9]  # a context block holds at most 10 elements
        line = {"type": "mrkdwn", "text": acknowledgement_line(user, at)}
        out[i - 1] = {**above, "elements": [*kept, line]}
        return out
    return None
