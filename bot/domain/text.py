r"""Untrusted text made fit to show to people: in Slack, in a terminal, quoted in an error message.

A database user name, a log line or a typed command may hold characters that draw nothing or
drive the display: ANSI escape sequences that retitle or clear a terminal, bidi overrides that
turn `\u202eexe.txt` around, zero-width characters that make `adm\u200bin` look like `admin`.
`reveal` shows each of them as a visible `<U+XXXX>` marker; everything else (accents, CJK,
emoji) is kept as it is.
"""

from __future__ import annotations

import regex

# Controls (C0, DEL, C1: an ANSI sequence starts with ESC or C1's CSI), format characters (bidi
# controls, zero-width spaces and joiners, soft hyphen, BOM, tags), line and paragraph separators,
# lone surrogates, and the rest of Unicode's default-ignorable set (variation selectors, fillers).
_HIDDEN = r"\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}"
# Emoji need joiners, variation selectors and tags (👨‍👩‍👧, ❤️, 1️⃣, the flag of Scotland), so
# these stay inside well-formed emoji sequences only, where no hidden text can ride along.
_EMOJI_ELEMENT = (
    r"(?:\U0001F3F4[\U000E0061-\U000E007A]{2}[\U000E0030-\U000E0039\U000E0061-\U000E007A]{1,3}\U000E007F"
    r"|\p{Extended_Pictographic}[\uFE0E\uFE0F]?[\U0001F3FB-\U0001F3FF]?)"
)
_EMOJI = rf"{_EMOJI_ELEMENT}(?:\u200D{_EMOJI_ELEMENT})*|[0-9#*]\uFE0F\u20E3"
_ANY_HIDDEN = regex.compile(rf"(?P<emoji>{_EMOJI})|[{_HIDDEN}]")
_HIDDEN_BUT_NEWLINE = regex.compile(rf"(?P<emoji>{_EMOJI})|[[{_HIDDEN}]--[\n]]", regex.V1)


def _marker(match: regex.Match[str]) -> str:
    found = match.group()
    return found if match.group("emoji") else f"<U+{ord(found):04X}>"


def reveal(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every hidden character shown as `<U+XXXX>`; newlines kept if asked."""
    if text.isascii() and text.isprintable():
        return text  # the common case, quickly: printable ASCII holds no control
    pattern = _HIDDEN_BUT_NEWLINE if keep_newlines else _ANY_HIDDEN
    return pattern.sub(_marker, text)


def shown(text: str, limit: int = 60) -> str:
    """One line, no backticks (they would end the code span it is shown in), hidden characters
    revealed, at most `limit` chars: fit to quote a person's own input back to them.

    Renderers escape `&`, `<`, `>` on top of this; this only keeps the message's own shape.
    """
    flat = reveal(" ".join(text.split())).replace("`", "'")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
