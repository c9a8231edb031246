"""The Home tab (`views.publish`): every watched cluster the person may read, its state, its
failures of the last 24 h by family with a sparkline, when it last fired, who acknowledged it, and
buttons. Slack allows 100 blocks in a Home view: past MAX_HOME_CLUSTERS clusters, "…and N more".

The buttons carry the digest buttons' values (a cluster's address; `{"cluster", "window"}`) under
action ids of their own: a click in the Home tab has no response_url to answer through
(handlers/home.py answers it in the person's conversation with the app)."""

from __future__ import annotations

import json
import re
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock

from bot.services.home import HomeData, HomeRow, HomeState
from bot.views.blocks import context, header, section
from bot.views.metrics import sparkline
from bot.views.modals import HOME_WATCH_ACTION
from bot.views.mrkdwn import escape, quoted

HOME_SHOW_FAILURES_ACTION = "home_show_failures"
HOME_SILENCE_ACTION = "home_silence_1h"
MAX_HOME_BLOCKS = 100
# Three blocks a cluster (section, context, buttons) within 100, beside the header, the Watch
# button, the summary, the "…and N more" line and the footer.
MAX_HOME_CLUSTERS = 30
SHOW_FAILURES_WINDOW = "24h"
_USER_ID = re.compile(r"\A[UW][A-Z0-9]{2,20}\Z")
_CHANNEL_ID = re.compile(r"\A[CGD][A-Z0-9]{2,20}\Z")
_STATE_LABEL = {
    HomeState.FIRING: ":red_circle: *firing*",
    HomeState.SILENCED: ":no_bell: *silenced*",
    HomeState.OK: ":large_green_circle: ok",
}


def _channel(channel: str) -> str:
    return f"<#{channel}>" if _CHANNEL_ID.match(channel) else f"`{escape(channel)}`"


def _person(user: str) -> str:
    return f"<@{user}>" if _USER_ID.match(user) else quoted(user, 40)


def _state_line(row: HomeRow) -> str:
    parts = [_STATE_LABEL[row.state]]
    if row.firing:
        parts.append("firing: " + ", ".join(f.value for f in row.firing))
    if row.silenced_until is not None:
        parts.append(f"silenced until {row.silenced_until:%Y-%m-%d %H:%M} UTC")
    if row.last_fired is not None:
        parts.append(f"last fired {row.last_fired:%Y-%m-%d %H:%M} UTC")
    else:
        parts.append("not firing")
    if row.acknowledged_by:
        parts.append(f"acknowledged by {_person(row.acknowledged_by)}")
    return " · ".join(parts)


def _failures_text(row: HomeRow) -> str:
    if row.failures is None:
        return ":warning: failures of the last 24 h could not be read"
    lines = [
        f"{f.family.value} *{f.total:,}* `{sparkline(f.buckets)}`" for f in row.failures if f.total
    ]
    if not lines:
        return "No failures in the last 24 h"
    return f"Last 24 h: *{row.failures_24h:,}* failures · " + " · ".join(lines)


def _row_blocks(row: HomeRow) -> list[Block]:
    cluster = str(row.cluster)
    channels = ", ".join(_channel(c) for c in row.channels)
    return [
        section(f"*{escape(cluster)}* → {channels}\n{_state_line(row)}"),
        context(_failures_text(row)),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Show failures",
                    action_id=HOME_SHOW_FAILURES_ACTION,
                    value=json.dumps({"cluster": cluster, "window": SHOW_FAILURES_WINDOW}),
                ),
                ButtonElement(text="Silence 1h", action_id=HOME_SILENCE_ACTION, value=cluster),
            ]
        ),
    ]


def home_view(data: HomeData, channel: str) -> dict[str, Any]:
    """The Home view of `data`; `channel` (the Home tab's own) rides in private_metadata, so a
    click there is authorised for the same channel the tab was read for."""
    shown = data.rows[:MAX_HOME_CLUSTERS]
    firing = sum(1 for r in data.rows if r.state is HomeState.FIRING)
    silenced = sum(1 for r in data.rows if r.state is HomeState.SILENCED)
    blocks: list[Block] = [
        header("IAM auth · watched clusters"),
        ActionsBlock(
            elements=[ButtonElement(text="Watch a cluster…", action_id=HOME_WATCH_ACTION)]
        ),
        section(
            f"*{len(data.rows)}* watched clusters: *{firing}* firing, *{silenced}* silenced, "
            f"{len(data.rows) - firing - silenced} ok"
            if data.rows
            else "No watched cluster you may read here. *Watch a cluster…* adds one."
        ),
        DividerBlock(),
    ]
    for row in shown:
        blocks += _row_blocks(row)
    if len(data.rows) > len(shown):
        more = len(data.rows) - len(shown)
        blocks.append(section(f"…and {more} more: `/iamauth watches` lists them all."))
    notes = []
    if data.hidden:
        notes.append(f"{data.hidden} watched clusters that may not be read here are left out.")
    if data.problems:
        notes.append(":warning: " + quoted("; ".join(data.problems), 500))
    if data.as_of is not None:
        notes.append(
            f"As of {data.as_of:%Y-%m-%d %H:%M} UTC; CloudWatch metrics, a point an hour, "
            "arrive a few minutes late."
        )
    if notes:
        blocks.append(context("\n".join(notes)))
    return {
        "type": "home",
        "blocks": [b.to_dict() for b in blocks[:MAX_HOME_BLOCKS]],
        "private_metadata": json.dumps({"channel": channel}),
    }
