"""The digest: a message listing the clusters whose alerts changed, one part each. The digest
pipeline (bot/services/alerting) is given `digest_payload` to render the message that announces
alerts and the news told in its thread, and `AlertMessageView` to keep each part as stored
(`part_of`) and to draw the message again from its parts when one changes (`message_payload`)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
)

from bot.domain.alerts import Notice, NoticeKind
from bot.domain.fixes import fixes_by_family, fixes_of_summary
from bot.domain.records import Family
from bot.domain.window import format_duration
from bot.services.alerting.group import ClusterNotices
from bot.views.acknowledged import acknowledgement_line
from bot.views.blocks import MAX_SECTION_TEXT, context, section
from bot.views.fixes import fix_line
from bot.views.mrkdwn import code, escape, shorten

SILENCE_ACTION = "iamauth_silence_1h"
SHOW_FAILURES_ACTION = "iamauth_show_failures"
ACKNOWLEDGE_ACTION = "iamauth_acknowledge"
MAX_CLUSTERS_PER_DIGEST = 10  # 4 blocks each, within Block Kit's 50
DIGEST_FIXES = 3  # fix lines per cluster, most frequent cause first
_UNWATCHED = "unwatched"  # the line of a part whose watch was removed (not a family)
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")  # only a Slack user id is shown as a mention

_ICONS = {
    NoticeKind.FIRING: ":rotating_light:",
    NoticeKind.REPEAT: ":repeat:",
    NoticeKind.ESCALATED: ":arrow_double_up:",
    NoticeKind.RESOLVED: ":white_check_mark:",
}


def _hm(moment: datetime | None) -> str:
    return f"{moment:%H:%M} UTC" if moment else "?"


def notice_line(notice: Notice) -> str:
    threshold = notice.threshold
    family = f"*{notice.family.value}*"
    window = format_duration(threshold.window)
    if notice.kind is NoticeKind.RESOLVED:
        return (
            f"{_ICONS[notice.kind]} {family} resolved: {notice.count} in the {window} to "
            f"{_hm(notice.window_end)}, under {threshold.describe()} (firing since {_hm(notice.since)})"
        )
    what = {
        NoticeKind.FIRING: "firing",
        NoticeKind.REPEAT: "still firing",
        NoticeKind.ESCALATED: f"escalated from {notice.previous_count}",
    }[notice.kind]
    return (
        f"{_ICONS[notice.kind]} {family} {what}: *{notice.count}* failures in the {window} to "
        f"{_hm(notice.window_end)} (threshold {threshold.describe()}), since {_hm(notice.since)}"
    )


def _log_detail(item: ClusterNotices) -> str | None:
    summary = item.summary
    if summary is None:
        if item.log_export_on is False:
            return (
                "_The `iam-db-auth-error` log export is off: turn it on to see users and reasons._"
            )
        return None
    if summary.total == 0:
        return None
    parts = []
    users = ", ".join(f"{code(u, 40)} {n}" for u, n in summary.top_users(3))
    if users:
        parts.append(f"Top users {users}")
    codes = ", ".join(f"{code(c, 30)} {n}" for c, n in summary.top_codes()[:3])
    parts.append(f"codes {codes}")
    callers = summary.callers.top(1)
    if callers:
        parts.append(f"refused role {code(callers[0][0], 160)}")
    if item.workloads:  # AWS tags and descriptions: escaped
        found = ", ".join(f"{escape(shorten(w, 80))} {n}" for w, n in item.workloads)
        parts.append(f"from {found}")
    return (
        f"From the log, {item.log_window}: " + " · ".join(parts)
        if item.log_window
        else " · ".join(parts)
    )


def _fix_lines(item: ClusterNotices, active: Sequence[Notice]) -> str:
    """The fixes of the codes the log shows for the breaching window, most frequent first; where
    it shows none, the fixes of the breaching families, said to be by family."""
    summary = item.summary
    if summary is not None and summary.total:
        fixes = fixes_of_summary(summary)
    else:
        counts: dict[Family, int] = {}
        for n in active:
            counts[n.family] = max(counts.get(n.family, 0), n.count)
        fixes = fixes_by_family(counts, export_off=item.log_export_on is False)
    lines = [f"_Fix:_ {fix_line(f)}" for f in fixes[:DIGEST_FIXES]]
    if len(fixes) > DIGEST_FIXES:
        lines.append(f"…and {len(fixes) - DIGEST_FIXES} more causes: _Show failures_ lists them.")
    return "\n".join(lines)


def part_of(
    item: ClusterNotices,
    previous: Mapping[str, Any] | None = None,
    acknowledged: tuple[str, datetime] | None = None,
) -> dict[str, Any]:
    """A cluster's part of an alert message, as the message's row stores it (JSON): its line per
    family, `item`'s notices replacing those of their families in `previous` (the part as last
    shown, None for a new message); its log detail and fixes while a family breaches; who
    acknowledged it (a checked user id, and when)."""
    before = previous or {}
    lines = {f: (line, short) for f, line, short in before.get("lines", [])}
    firing = set(before.get("firing", []))
    for n in item.notices:
        lines[n.family.value] = (
            notice_line(n),
            f"{item.cluster} {n.family.value} {n.kind.value} ({n.count})",
        )
        (firing.discard if n.kind is NoticeKind.RESOLVED else firing.add)(n.family.value)
    active = [n for n in item.notices if n.kind is not NoticeKind.RESOLVED]
    detail, window = before.get("detail"), before.get("window")
    # A refresh of the counts reads no log (log_window empty): the detail shown stays.
    if active and (item.log_window or detail is None):
        log_detail = _log_detail(item)
        detail = "\n".join(x for x in (log_detail, _fix_lines(item, active)) if x)
        window = format_duration(max(n.threshold.window for n in active) * 3)
    return {
        "cluster": str(item.cluster),
        "lines": [[f, line, short] for f, (line, short) in lines.items()],
        "firing": sorted(firing),
        "detail": detail,
        "window": window,
        "acknowledged": [acknowledged[0], acknowledged[1].isoformat()] if acknowledged else None,
    }


def unwatched_part(previous: Mapping[str, Any], by: str | None) -> dict[str, Any]:
    """A part whose cluster is no longer watched for the channel: its alerts no longer fire
    here (no buttons), and a line says so (and who, when `by` is a user id)."""
    cluster = str(previous.get("cluster", ""))
    who = f" by <@{by}>" if by and _USER_ID.fullmatch(by) else ""
    line = f":no_bell: no longer watched for this channel{who}: no more alerts of it come here"
    lines = [x for x in previous.get("lines", []) if x[0] != _UNWATCHED]
    lines.append([_UNWATCHED, line, f"{cluster} no longer watched"])
    return {**previous, "lines": lines, "firing": [], "acknowledged": None}


def _part_blocks(part: Mapping[str, Any]) -> list[Block]:
    cluster = str(part["cluster"])
    lines = [line for _, line, _ in part["lines"]]
    blocks: list[Block] = [section(f"*{escape(cluster)}*\n" + "\n".join(lines))]
    if part["firing"]:
        notes = (
            [MarkdownTextObject(text=shorten(part["detail"], MAX_SECTION_TEXT))]
            if part["detail"]
            else []
        )
        if part["acknowledged"] and _USER_ID.fullmatch(part["acknowledged"][0]):
            user, at = part["acknowledged"]
            notes.append(
                MarkdownTextObject(text=acknowledgement_line(user, datetime.fromisoformat(at)))
            )
        if notes:
            blocks.append(ContextBlock(elements=notes))
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(text="Acknowledge", action_id=ACKNOWLEDGE_ACTION, value=cluster),
                    ButtonElement(text="Silence 1h", action_id=SILENCE_ACTION, value=cluster),
                    ButtonElement(
                        text="Show failures",
                        action_id=SHOW_FAILURES_ACTION,
                        value=json.dumps({"cluster": cluster, "window": part["window"]}),
                    ),
                ]
            )
        )
    blocks.append(DividerBlock())
    return blocks


def compose(
    parts: Sequence[Mapping[str, Any]], evaluated_to: datetime, more: int = 0
) -> tuple[str, list[Block]]:
    """(fallback text, blocks) of an alert message from its parts (part_of), in order."""
    title = "IAM auth alerts" if any(p["firing"] for p in parts) else "IAM auth alerts resolved"
    blocks: list[Block] = [HeaderBlock(text=title)]
    for part in parts:
        blocks += _part_blocks(part)
    if more:
        blocks.append(section(f"…and {more} more clusters changed."))
    blocks.append(
        context(
            f"From CloudWatch metrics up to {evaluated_to:%Y-%m-%d %H:%M} UTC "
            "(they arrive a few minutes late). `/iamauth watches` lists what is watched."
        )
    )
    fallback = [short for p in parts for _, _, short in p["lines"]]
    return shorten(f"{title}: " + "; ".join(fallback), 3000), blocks


def digest_blocks(
    items: Sequence[ClusterNotices], evaluated_to: datetime
) -> tuple[str, list[Block]]:
    """(fallback text, blocks) for one channel's digest."""
    shown = list(items[:MAX_CLUSTERS_PER_DIGEST])
    return compose([part_of(item) for item in shown], evaluated_to, len(items) - len(shown))


class AlertMessageView:
    """The digest pipeline's MessageView (bot/services/alerting/ports.py)."""

    @staticmethod
    def part(
        item: ClusterNotices,
        previous: Mapping[str, Any] | None,
        acknowledged: tuple[str, datetime] | None,
    ) -> dict[str, Any]:
        return part_of(item, previous, acknowledged)

    @staticmethod
    def message(
        parts: Sequence[Mapping[str, Any]], evaluated_to: datetime
    ) -> tuple[str, list[dict[str, Any]]]:
        return message_payload(parts, evaluated_to)

    @staticmethod
    def unwatched(previous: Mapping[str, Any], by: str | None) -> dict[str, Any]:
        return unwatched_part(previous, by)


def message_payload(
    parts: Sequence[Mapping[str, Any]], evaluated_to: datetime
) -> tuple[str, list[dict[str, Any]]]:
    """compose as the outbox holds it: the blocks as JSON-ready dicts."""
    text, blocks = compose(parts, evaluated_to)
    return text, [block.to_dict() for block in blocks]


def digest_payload(
    items: Sequence[ClusterNotices], evaluated_to: datetime
) -> tuple[str, list[dict[str, Any]]]:
    """digest_blocks as the outbox holds it: the blocks as JSON-ready dicts."""
    text, blocks = digest_blocks(items, evaluated_to)
    return text, [block.to_dict() for block in blocks]
