"""The fitted fixes (bot/domain/fixes.py) as mrkdwn: names from logs as escaped inline code,
the hints' prose escaped (their `<region>` placeholders too), statements as code blocks."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.fixes import EXPIRED, Fix, Style, describe
from bot.views.mrkdwn import block_quote_code, code, escape

MRKDWN = Style(name=code, prose=escape, block=lambda text: "\n" + block_quote_code(text, 1500))


def fix_line(fix: Fix, *, count: bool = True) -> str:
    return describe(fix, MRKDWN, count=count)


def fix_first_text(fixes: Sequence[Fix], *, clients_asked: bool = True) -> str | None:
    """The "What to fix first" section: the dominant cause in full, the others named. Where an
    ExpiredToken burst leads and who failed from where was not asked, how to see where tokens
    are being reused."""
    if not fixes:
        return None
    first, rest = fixes[0], fixes[1:]
    text = f"*What to fix first*\n{fix_line(first)}"
    if first.code == EXPIRED and not first.by_family and not clients_asked:
        text += " _Add `clients` to the command to see where tokens are being reused._"
    if rest:
        others = ", ".join(f"{n.count:,} {code(n.code, 40)}" for n in rest[:5])
        more = len(rest) - 5
        text += f"\nThen: {others}" + (f" and {more:,} more causes" if more > 0 else "") + "."
    return text
