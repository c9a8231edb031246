"""The one place where untrusted text becomes Slack mrkdwn.

Everything read from logs is untrusted (a database user name is whatever a client sent). Slack
only needs `&`, `<` and `>` escaped for a mention or link never to become live; on top of that,
names are shown inside inline code so `*`, `_`, `~` in them cannot restyle the text around them,
and characters that draw nothing or steer the text (controls, bidi, zero-width) are revealed.
"""

from __future__ import annotations

from bot.domain.text import reveal

ELLIPSIS = "…"
# Inline code cannot contain a backtick; this look-alike keeps the name readable.
_BACKTICK_STANDIN = "ˋ"


def escape(text: str) -> str:
    """Untrusted text as mrkdwn: hidden characters revealed (its newlines kept), `&<>` escaped."""
    return _entities(reveal(text, keep_newlines=True))


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shorten(text: str, limit: int) -> str:
    """Cut to at most `limit` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


def quoted(text: str, limit: int) -> str:
    """Untrusted text as prose (a reason, a detail): revealed, then cut to `limit`, then escaped."""
    return _entities(shorten(reveal(text, keep_newlines=True), limit))


def code(text: str, limit: int = 80) -> str:
    """Untrusted text as inline code: one line, escaped, no backticks, at most `limit` characters."""
    flat = " ".join(text.split())
    if not flat:
        return "_(blank)_"
    # Revealed before the cut, so `limit` bounds what is shown, markers included.
    return f"`{_entities(shorten(reveal(flat).replace('`', _BACKTICK_STANDIN), limit))}`"


def block_quote_code(text: str, limit: int = 600) -> str:
    """Untrusted text as a code block (for sample log lines)."""
    body = shorten(reveal(text, keep_newlines=True).replace("```", "ˋˋˋ"), limit)
    return f"```{_entities(body)}```"


def unescape(text: str) -> str:
    """For terminal output only: show the characters Slack would show."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
