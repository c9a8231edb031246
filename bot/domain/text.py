"""Showing a person's own input back to them inside an error message."""

from __future__ import annotations


def shown(text: str, limit: int = 60) -> str:
    """One line, no backticks (they would end the code span it is shown in), at most `limit` chars.

    Renderers escape `&`, `<`, `>` on top of this; this only keeps the message's own shape.
    """
    flat = " ".join(text.split()).replace("`", "'")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
