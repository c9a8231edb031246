"""Block Kit as plain terminal text: what Slack would show, for the demo and the CLI."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from typing import Any

from bot.slack.mrkdwn import unescape

WIDTH = 100
_FENCE = re.compile(r"```(.*?)```", re.DOTALL)
# Control characters from logs (ANSI escapes above all) must not drive the reader's terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(text: str) -> str:
    return _CONTROL.sub("\ufffd", text)


def _mrkdwn(text: str) -> list[str]:
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
    return _visible(text)
