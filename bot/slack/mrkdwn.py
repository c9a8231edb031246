"""The one place where untrusted text becomes Slack mrkdwn.

Everything read from logs is untrusted (a database user name is whatever a client sent). Slack
only needs `&`, `<` and `>` escaped for a mention or link never to become live; on top of that,
names are shown inside inline code so `*`, `_`, `~` in them cannot restyle the text around them.
"""

from __future__ import annotations

ELLIPSIS = "…"
# Inline code cannot contain a backtick; this look-alike keeps the name readable.
_BACKTICK_STANDIN = "ˋ"


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shorten(text: str, limit: int) -> str:
    """Cut to at most `limit` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


def code(text: str, limit: int = 80) -> str:
    """Untrusted text as inline code: one line, escaped, no backticks, at most `limit` characters."""
    flat = " ".join(text.split())
    if not flat:
        return "_(blank)_"
    return f"`{escape(shorten(flat.replace('`', _BACKTICK_STANDIN), limit))}`"


def block_quote_code(text: str, limit: int = 600) -> str:
    """Untrusted text as a code block (for sample log lines)."""
    body = shorten(text.replace("```", "ˋˋˋ"), limit)
    return f"```{escape(body)}```"


def unescape(text: str) -> str:
    """For terminal output only: show the characters Slack would show."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
