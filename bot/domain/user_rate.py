"""How many AWS-reading commands one person may send: `[limits] user_rate = "20/5m"`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from bot.domain.text import shown
from bot.domain.window import format_duration, parse_duration

MAX_RATE_WINDOW = timedelta(days=1)
_RATE = re.compile(r"\A(?P<count>\d{1,6})\s*/\s*(?P<window>\w+)\Z")


@dataclass(frozen=True)
class UserRate:
    """At most `count` commands in any `window`; a count of 0 means no limit."""

    count: int
    window: timedelta

    @property
    def limited(self) -> bool:
        return self.count > 0

    def __str__(self) -> str:
        return f"{self.count} per {format_duration(self.window)}" if self.limited else "off"


DEFAULT_USER_RATE = UserRate(20, timedelta(minutes=5))


def parse_user_rate(text: str) -> UserRate:
    """`20/5m` (20 in any 5 minutes) or `off`; ValueError says why not, for a person."""
    cleaned = text.strip().lower()
    if cleaned == "off":
        return UserRate(0, DEFAULT_USER_RATE.window)
    match = _RATE.match(cleaned)
    if match is None or int(match["count"]) < 1:
        raise ValueError(
            f'`{shown(text, 30)}` is not a rate: write it like "20/5m" (20 commands in any '
            '5 minutes), or "off".'
        )
    return UserRate(int(match["count"]), parse_duration(match["window"], maximum=MAX_RATE_WINDOW))
