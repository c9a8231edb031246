"""The Block Kit pieces every view shares, built with slack_sdk.models and kept within Slack's
limits: a Message, sections (long lists split on line boundaries), context lines, a header, a plain
reply and an error. Text reaches them escaped (bot/views/mrkdwn.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.views.mrkdwn import escape, shorten

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150


@dataclass
class Message:
    """What a reply carries: fallback text (notifications, screen readers) and blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        blocks = self.blocks
        if len(blocks) > MAX_BLOCKS:
            blocks = [*blocks[: MAX_BLOCKS - 1], context("Some detail was left out to fit.")]
        return {"text": shorten(self.text, 3000), "blocks": [b.to_dict() for b in blocks]}


def section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=shorten(text, MAX_SECTION_TEXT)))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=shorten(text, MAX_SECTION_TEXT))])


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=shorten(text, MAX_HEADER_TEXT))


def error_message(text: str) -> Message:
    """An error for the person who asked. It may quote their input: escaped like any text."""
    return Message(text=escape(text), blocks=[section(f":warning: {escape(text)}")])


# Of Slack's 3,000 characters a section: room for the "…and N more" line.
SECTION_CHARS = 2900


def sections(lines: Sequence[str], max_sections: int, max_lines: int | None = None) -> list[Block]:
    """Lines grouped into at most `max_sections` sections, cut only between lines; the last line
    counts what did not fit (or was past `max_lines`)."""
    chunks: list[list[str]] = [[]]
    size = 0
    for line in lines[:max_lines]:
        cut = shorten(line, SECTION_CHARS)  # one overlong line is cut, never its neighbours
        if chunks[-1] and size + len(cut) > SECTION_CHARS:
            if len(chunks) == max_sections:
                break
            chunks.append([])
            size = 0
        chunks[-1].append(cut)
        size += len(cut) + 1
    left_out = len(lines) - sum(len(chunk) for chunk in chunks)
    if left_out:
        chunks[-1].append(f"…and {left_out:,} more")
    return [section("\n".join(chunk)) for chunk in chunks if chunk]


def plain(text: str) -> Message:
    return Message(text=text, blocks=[section(text)])
