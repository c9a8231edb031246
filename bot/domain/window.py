"""Time windows written like `15m`, `1h`, `24h`, `7d`: always `[start, end)` in UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.domain.text import shown

DEFAULT_WINDOW = "1h"
DEFAULT_MAX_WINDOW = timedelta(days=14)
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
# ASCII digits only: `\d` would also take `５m`.
_DURATION = re.compile(r"\A(?P<n>[0-9]{1,6})(?P<unit>[mhd])\Z")


class WindowError(ValueError):
    """The text is not a window we accept; the message is meant for the person who typed it."""


def parse_duration(text: str, *, maximum: timedelta = DEFAULT_MAX_WINDOW) -> timedelta:
    """`15m` → 15 minutes. Refuses zero, anything over `maximum`, and any other spelling."""
    match = _DURATION.match(text.strip().lower())
    if match is None:
        raise WindowError(
            f"`{shown(text, 40)}` is not a window: write a number and a unit, like `15m`, `1h`, `24h` or `7d`."
        )
    duration = timedelta(**{_UNITS[match["unit"]]: int(match["n"])})
    if duration <= timedelta(0):
        raise WindowError("A window must be at least `1m`.")
    if duration > maximum:
        raise WindowError(f"A window can be at most `{format_duration(maximum)}`.")
    return duration


def format_duration(duration: timedelta) -> str:
    """The inverse of parse_duration for whole minutes: 90 minutes → `90m`, 2 days → `2d`."""
    minutes = int(duration.total_seconds()) // 60
    if minutes >= 2 * 24 * 60 and minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)}d"
    if minutes and minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open UTC interval `[start, end)`."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware")
        if self.end <= self.start:
            raise ValueError("window end must be after its start")

    @classmethod
    def ending_at(cls, end: datetime, duration: timedelta) -> Window:
        end = end.astimezone(UTC).replace(microsecond=0)
        return cls(start=end - duration, end=end)

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def describe(self) -> str:
        """`2025-08-11 03:00–04:00 UTC (1h)`: every reply states its window."""
        same_day = self.start.date() == self.end.date()
        end_format = "%H:%M" if same_day else "%Y-%m-%d %H:%M"
        return (
            f"{self.start:%Y-%m-%d %H:%M}–{self.end.strftime(end_format)} UTC "
            f"({_readable(self.duration)})"
        )


def _readable(duration: timedelta) -> str:
    """Like format_duration, but a window widened to whole metric periods reads `24h 5m`, not
    `1445m`."""
    minutes = int(duration.total_seconds()) // 60
    if minutes < 120 or minutes % 60 == 0:
        return format_duration(duration)
    return f"{minutes // 60}h {minutes % 60}m"
