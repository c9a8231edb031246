"""The digest: one message per channel per tick, grouping every cluster that changed. The
digest pipeline (bot/services/alerting) is given `digest_payload` as its renderer."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock, HeaderBlock

from bot.domain.alerts import Notice, NoticeKind
from bot.domain.fixes import fixes_by_family, fixes_of_summary
from bot.domain.records import Family
from bot.domain.window import format_duration
from bot.services.alerting.group import ClusterNotices
from bot.views.blocks import context, section
from bot.views.fixes import fix_line
from bot.views.mrkdwn import code, escape, shorten

SILENCE_ACTION = "iamauth_silence_1h"
SHOW_FAILURES_ACTION = "iamauth_show_failures"
ACKNOWLEDGE_ACTION = "iamauth_acknowledge"
MAX_CLUSTERS_PER_DIGEST = 10  # 4 blocks each, within Block Kit's 50
DIGEST_FIXES = 3  # fix lines per cluster, most frequent cause first

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


def digest_blocks(
    items: Sequence[ClusterNotices], evaluated_to: datetime
) -> tuple[str, list[Block]]:
    """(fallback text, blocks) for one channel's digest."""
    shown = list(items[:MAX_CLUSTERS_PER_DIGEST])
    firing = sum(1 for i in items for n in i.notices if n.kind is not NoticeKind.RESOLVED)
    title = "IAM auth alerts" if firing else "IAM auth alerts resolved"
    blocks: list[Block] = [HeaderBlock(text=title)]
    fallback = []
    for item in shown:
        cluster = escape(str(item.cluster))
        lines = [notice_line(n) for n in item.notices]
        blocks.append(section(f"*{cluster}*\n" + "\n".join(lines)))
        fallback += [
            f"{item.cluster} {n.family.value} {n.kind.value} ({n.count})" for n in item.notices
        ]
        active = [n for n in item.notices if n.kind is not NoticeKind.RESOLVED]
        if active:
            detail = _log_detail(item)
            hints = _fix_lines(item, active)
            blocks.append(context("\n".join(x for x in (detail, hints) if x)))
            window = format_duration(max(n.threshold.window for n in active) * 3)
            blocks.append(
                ActionsBlock(
                    elements=[
                        ButtonElement(
                            text="Acknowledge",
                            action_id=ACKNOWLEDGE_ACTION,
                            value=str(item.cluster),
                        ),
                        ButtonElement(
                            text="Silence 1h", action_id=SILENCE_ACTION, value=str(item.cluster)
                        ),
                        ButtonElement(
                            text="Show failures",
                            action_id=SHOW_FAILURES_ACTION,
                            value=json.dumps({"cluster": str(item.cluster), "window": window}),
                        ),
                    ]
                )
            )
        blocks.append(DividerBlock())
    if len(items) > len(shown):
        blocks.append(section(f"…and {len(items) - len(shown)} more clusters changed."))
    blocks.append(
        context(
            f"From CloudWatch metrics up to {evaluated_to:%Y-%m-%d %H:%M} UTC "
            "(they arrive a few minutes late). `/iamauth watches` lists what is watched."
        )
    )
    return shorten(f"{title}: " + "; ".join(fallback), 3000), blocks


def digest_payload(
    items: Sequence[ClusterNotices], evaluated_to: datetime
) -> tuple[str, list[dict[str, Any]]]:
    """digest_blocks as the outbox holds it: the blocks as JSON-ready dicts."""
    text, blocks = digest_blocks(items, evaluated_to)
    return text, [block.to_dict() for block in blocks]
