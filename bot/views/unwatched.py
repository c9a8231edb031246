"""The last digest of an unwatched cluster, for a channel last told one of its alerts was firing:
without it that stale "firing" would stay the channel's last word on the cluster."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.domain.address import Address
from bot.domain.alerts import AlertState
from bot.domain.records import Family
from bot.views.blocks import Message, context, section
from bot.views.mrkdwn import escape

_USER_ID = re.compile(r"\A[UW][A-Z0-9]{2,20}\Z")


def _hm(moment: datetime | None) -> str:
    return f"{moment:%H:%M} UTC" if moment else "?"


def _was(family: Family, state: AlertState) -> str:
    line = f":white_circle: *{family.value}* was firing since {_hm(state.since)}"
    if state.resolution_owed:
        return line + "; it ended during a silence"
    return line + f" ({state.notified_count} failures when last told)"


def unwatched_message(
    cluster: Address, announced: Mapping[Family, AlertState], by: str | None
) -> Message:
    """`announced`: the alerts whose firing the channel heard of and whose end it did not."""
    who = f" by <@{by}>" if by and _USER_ID.match(by) else ""
    families = ", ".join(f.value for f in announced)
    lines = [_was(family, state) for family, state in announced.items()]
    return Message(
        text=f"IAM auth alerts: {cluster} no longer watched (was firing: {families})",
        blocks=[
            section(
                f":no_bell: *{escape(str(cluster))}* is no longer watched for this channel{who}: "
                "no more alerts of it come here, not even when these end.\n" + "\n".join(lines)
            ),
            context("`/iamauth watches` lists what is watched."),
        ],
    )


def unwatched_digest(
    cluster: Address, announced: Mapping[Family, AlertState], by: str | None
) -> tuple[str, list[dict[str, Any]]]:
    """unwatched_message as the outbox stores it: (fallback text, Block Kit blocks)."""
    message = unwatched_message(cluster, announced, by)
    return message.text, [block.to_dict() for block in message.blocks]
