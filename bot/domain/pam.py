"""Parse the engine's `PAM authentication failed` lines from a cluster's `postgresql` log.

RDS writes every line with the prefix `%t:%r:%u@%d:[%p]:`, for example

    2025-08-11 03:36:09 UTC:10.0.1.67(40050):testuser@test_db:[1271]:FATAL: PAM authentication failed for user "testuser"

so a failed IAM login there shows what the `iam-db-auth-error` line lacks: the client address and
port, the database and the backend pid. The parser is tolerant: IPv6 clients, `[local]` (a Unix
socket), fractional seconds and numeric zones are read; a user name may hold any character, so it
is taken from the message and the prefix is split where that same name is followed by `@`. It never
raises: `classify` tells a PAM failure from other lines and from PAM lines it cannot read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from bot.domain.parse import epoch_second

PAM_PHRASE = "PAM authentication failed for user"
# CloudWatch Logs filter pattern: a quoted term matches that exact phrase.
PAM_FILTER_PATTERN = f'"{PAM_PHRASE}"'
WHOLE_SECOND_MS = 1000
UNREADABLE_SAMPLES = 3
# A real line is a few hundred characters (PostgreSQL names are at most 63 bytes). Longer ones are
# not matched at all: the patterns below backtrack, and a crafted line of many `@` and `:[` (a
# logged statement, say) would otherwise cost time quadratic in its length.
MAX_LINE = 1_000

_PREFIX = r"""\A\s*
    (?P<stamp>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})(?:[.,](?P<frac>\d{1,6}))?
    \s*(?P<zone>UTC|GMT|Z|[+-]\d{2}(?::?\d{2})?)?
    :(?P<remote>\[local\]|[^\s()]*?(?:\((?P<port>\d{1,5})\))?)
    :"""
_SUFFIX = r"""
    :\[(?P<pid>\d{1,10})\]
    :(?P<level>[A-Z]+[0-9]?):\s*
    PAM\ authentication\ failed\ for\ user\ "%s"\s*\Z"""
# The same name in the prefix (`user@db`) and the message: a name with `@` or `:` still splits right.
_CONSISTENT = re.compile(
    _PREFIX + r"(?P<user>.*)@(?P<db>.*?)" + _SUFFIX % "(?P=user)", re.VERBOSE | re.DOTALL
)
# Anything else readable (the prefix names another user): the message's name counts, and the
# database is what follows the last `@` before `:[pid]`.
_LOOSE = re.compile(
    _PREFIX + r".*@(?P<db>[^@]*?)" + _SUFFIX % "(?P<user>.*)", re.VERBOSE | re.DOTALL
)


@dataclass(frozen=True, slots=True)
class PamFailure:
    """One `FATAL: PAM authentication failed` line."""

    ms: int  # epoch milliseconds of the logged time (the start of its second when whole seconds)
    precision_ms: int  # 1000 when the line has whole seconds only, as RDS writes it
    user: str
    client: str  # IP address, `[local]`, or "" when the prefix has none
    port: int | None
    database: str
    pid: int


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A line that names a PAM failure but whose prefix cannot be read."""

    line: str


def classify(line: str) -> PamFailure | Unreadable | None:
    """The PAM failure on `line`; Unreadable when it has the phrase but no readable prefix; None
    for every other line of the log (connections, statements, the LOG/DETAIL lines around it)."""
    if PAM_PHRASE not in line:
        return None
    if len(line) > MAX_LINE:
        return Unreadable(line)
    match = _CONSISTENT.match(line) or _LOOSE.match(line)
    if match is None:
        return Unreadable(line)
    base = epoch_second(match["stamp"])
    offset = _zone_offset_ms(match["zone"])
    if base is None or offset is None:
        return Unreadable(line)
    frac = match["frac"]
    ms = base * 1000 - offset + (int(frac.ljust(6, "0")) // 1000 if frac else 0)
    remote = match["remote"]
    port = match["port"]
    client = remote[: remote.rfind("(")] if port else remote
    return PamFailure(
        ms=ms,
        precision_ms=1 if frac else WHOLE_SECOND_MS,
        user=match["user"],
        client=client,
        port=int(port) if port else None,
        database=match["db"],
        pid=int(match["pid"]),
    )


@dataclass
class PamLines:
    """What a read of the postgresql log found: the PAM failures, and counts of the rest. Memory
    is bounded by the event cap of the read that feeds it."""

    failures: list[PamFailure] = field(default_factory=list)
    unreadable: int = 0
    unreadable_samples: list[str] = field(default_factory=list)
    other: int = 0  # lines that are no PAM failure (when the server did not filter them out)

    def add_lines(self, lines: Sequence[str]) -> None:
        for line in lines:
            found = classify(line)
            if isinstance(found, PamFailure):
                self.failures.append(found)
            elif isinstance(found, Unreadable):
                self.unreadable += 1
                if len(self.unreadable_samples) < UNREADABLE_SAMPLES:
                    self.unreadable_samples.append(line[:500])
            else:
                self.other += 1


def _zone_offset_ms(zone: str | None) -> int | None:
    """Milliseconds east of UTC for the zone text (none, UTC, +00, -05:30); None if unreadable."""
    if zone is None or zone in ("UTC", "GMT", "Z"):
        return 0
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 14 or minutes > 59:
        return None
    sign = -1 if zone[0] == "-" else 1
    return sign * int(timedelta(hours=hours, minutes=minutes).total_seconds() * 1000)
