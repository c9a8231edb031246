"""Plain terminal text for the demo and the CLI: Block Kit as Slack would show it, the audit table.

Nothing printed may drive the terminal or hide what it shows: see `bot.domain.text.reveal`.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from bot.domain.text import reveal
from bot.views.mrkdwn import unescape

if TYPE_CHECKING:
    from bot.adapters.store.repo import AuditEntry

WIDTH = 100
_FENCE = re.compile(r"```(.*?)```", re.DOTALL)


def visible_lines(text: str) -> str:
    """Text fit for a terminal: no character (an ANSI escape above all) may drive it, and none
    may hide or reorder what is shown. Only the newlines stay."""
    return reveal(text, keep_newlines=True)


def _mrkdwn(text: str) -> list[str]:
    # Revealed first, so a stray CR or form feed shows as itself instead of breaking the line.
    text = visible_lines(text)
    lines: list[str] = []
    position = 0
    for match in _FENCE.finditer(text):
        lines.extend(_prose(text[position : match.start()]))
        lines.extend("    " + unescape(line) for line in match.group(1).strip("\n").splitlines())
        position = match.end()
    lines.extend(_prose(text[position:]))
    return lines


def _prose(text: str) -> list[str]:
    out: list[str] = []
    for line in text.strip("\n").splitlines():
        plain = unescape(line)
        out.extend(textwrap.wrap(plain, WIDTH, subsequent_indent="  ") or [""])
    return out


def render_blocks(blocks: Iterable[dict[str, Any]]) -> str:
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = block["text"]["text"]
            lines += ["", title, "=" * min(len(title), WIDTH)]
        elif kind == "section":
            lines += _mrkdwn(block.get("text", {}).get("text", ""))
            for item in block.get("fields", []) or []:
                lines += _mrkdwn(item.get("text", ""))
        elif kind == "context":
            for element in block.get("elements", []):
                lines += ["  " + line for line in _mrkdwn(element.get("text", ""))]
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "actions":
            labels = [e.get("text", {}).get("text", "") for e in block.get("elements", [])]
            lines.append("  ".join(f"[ {label} ]" for label in labels))
    return "\n".join(lines)


def render_message(message: dict[str, Any]) -> str:
    blocks = message.get("blocks")
    text = render_blocks(blocks) if blocks else "\n".join(_mrkdwn(str(message.get("text", ""))))
    return visible_lines(text)  # headers and labels too, whatever the renderer did


def audit_table(entries: Iterable[AuditEntry]) -> str:
    """`iamauth audit`: one line an entry, or one line saying there is none."""
    rows = [_audit_row(e) for e in entries]
    return "\n".join(rows) if rows else "The audit log is empty."


def _audit_row(entry: AuditEntry) -> str:
    # Every field may hold what someone typed (the detail quotes invalid input): one line each.
    user, channel, outcome, action, detail = map(
        reveal, (entry.user_id, entry.channel_id, entry.outcome, entry.action, entry.detail)
    )
    return f"{entry.at:%Y-%m-%d %H:%M:%S}  {user:<12} {channel:<12} {outcome:<8} {action!r}" + (
        f"  ({detail})" if detail else ""
    )
