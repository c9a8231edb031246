"""Parse the engine's `PAM authentication failed` lines from a cluster's `postgresql` log.

RDS writes every line with the prefix `%t:%r:%u@%d:[%p]:`, for example

    2025-08-11 03:36:09 UTC:10.0.1.67(40050):testuser@test_db:[1271]:FATAL: PAM authentication failed for user "testuser"

so a failed IAM login there shows what the `iam-db-auth-error` line lacks: the client address and
port, the database and the backend pid. The parser is tolerant: IPv6 clients, `[local]` (a Unix
socket), fractional seconds and numeric zones are read. It never raises: `classify` tells a PAM
failure from other lines and from PAM lines it cannot read.

User and database names come from clients and may hold any character, `@`, `:[1]:` and the phrase
itself included; and any database user can write the phrase into this log (a logged statement). So
the line is split structurally, from both ends, at positions a name cannot move: the time, zone and
client from the start (an address holds no parenthesis, so the first `(` opens the port), the
message `PAM authentication failed for user "<name>"` at the end, where PostgreSQL has cut the name
to 63 bytes (so only the last ~100 characters can hold the message's start), and the
`:[pid]:LEVEL:` just before it. The prefix's `<name>@` must be the message's name; when it is not,
the database is what follows the last `@`. Every step is a str method or an anchored pattern that
cannot backtrack, so the cost is linear in the line, which is capped at MAX_LINE besides. Lines of
the default prefix with plain names take a faster path (fast_failure) with the same result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

from bot.domain.parse import epoch_second

PAM_PHRASE = "PAM authentication failed for user"
# CloudWatch Logs filter pattern: a quoted term matches that exact phrase.
PAM_FILTER_PATTERN = f'"{PAM_PHRASE}"'
WHOLE_SECOND_MS = 1000
UNREADABLE_SAMPLES = 3
# A real line is a few hundred characters (PostgreSQL names are at most 63 bytes). Longer ones are
# not parsed at all: they count as unreadable.
MAX_LINE = 1_000
# NAMEDATALEN - 1: PostgreSQL cuts the user and database names of a connection to this many bytes
# before it authenticates, so the name in the message is at most this many characters.
MAX_NAME = 63
_MESSAGE = f'{PAM_PHRASE} "'

_STAMP_AND_ZONE = r"""\s*+
    (?P<stamp>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})(?:[.,](?P<frac>\d{1,6}))?
    \s*+(?P<zone>UTC|GMT|Z|[+-]\d{2}(?::?\d{2})?)?:"""
# The client as `%r` writes it: an address and its port. An address holds no parenthesis.
_WITH_PORT = re.compile(
    _STAMP_AND_ZONE + r"(?P<client>[^\s()]*+)\((?P<port>\d{1,5})\):", re.VERBOSE
)
# `[local]`, an empty client (no connection), or an IPv4 address written without a port.
_WITHOUT_PORT = re.compile(_STAMP_AND_ZONE + r"(?P<client>[^\s():]*+):", re.VERBOSE)
_LEVEL = re.compile(r"[A-Z]++[0-9]?")


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
    return fast_failure(line) or parse_failure(line)


# The fast path: nearly every line has the default prefix and plain names. One anchored pattern
# with possessive quantifiers reads those; anything else is split structurally by parse_failure.
# tests/unit/test_pam.py checks that the two always agree.
_TYPICAL = re.compile(
    r"""(?P<stamp>\d{4}-\d{2}-\d{2}\ \d{2}:\d{2}:\d{2})\ UTC
    :(?P<client>[0-9A-Fa-f.:]++)\((?P<port>\d{1,5})\)
    :(?P<user>[^\s@:"]{1,63}+)@(?P<database>[^\s@:"\[\]]*+)
    :\[(?P<pid>\d{1,10})\]:[A-Z]++[0-9]?:\s*+PAM\ authentication\ failed\ for\ user\ "(?P=user)"\Z""",
    re.VERBOSE,
)


def fast_failure(line: str) -> PamFailure | None:
    """The failure on a line of the default prefix with plain names; None for anything else."""
    typical = _TYPICAL.match(line)
    seconds = epoch_second(typical["stamp"]) if typical else None
    if typical is None or seconds is None:
        return None
    return PamFailure(
        ms=seconds * 1000,
        precision_ms=WHOLE_SECOND_MS,
        user=typical["user"],
        client=typical["client"],
        port=int(typical["port"]),
        database=typical["database"],
        pid=int(typical["pid"]),
    )


def parse_failure(line: str) -> PamFailure | Unreadable:
    """The failure on a line naming one, split structurally; Unreadable if it cannot be."""
    end = len(line.rstrip())
    found = _parts(line, end) if line[end - 1 : end] == '"' else None
    if found is None:
        return Unreadable(line)
    head, (user, database, pid) = found
    base = epoch_second(head["stamp"])
    offset = _zone_offset_ms(head["zone"])
    if base is None or offset is None:
        return Unreadable(line)
    frac = head["frac"]
    port = head["port"] if head.re is _WITH_PORT else None
    return PamFailure(
        ms=base * 1000 - offset + (int(frac.ljust(6, "0")) // 1000 if frac else 0),
        precision_ms=1 if frac else WHOLE_SECOND_MS,
        user=user,
        client=head["client"],
        port=int(port) if port else None,
        database=database,
        pid=pid,
    )


def _parts(line: str, end: int) -> tuple[re.Match[str], tuple[str, str, int]] | None:
    """The prefix match and (user, database, pid) of the first reading that fits."""
    messages = _message_starts(line, end)
    first = None
    for prefix in (_WITH_PORT, _WITHOUT_PORT):
        head = prefix.match(line)
        if head is None:
            continue
        first = first or head
        for message in messages:  # the longest name first: the prefix must repeat it
            split = _split(line, head.end(), message, end, consistent=True)
            if split:
                return head, split
    if first is None:
        return None
    for message in reversed(messages):  # the shortest name: nearest the line's fixed end
        split = _split(line, first.end(), message, end, consistent=False)
        if split:
            return first, split
    return None


def _message_starts(line: str, end: int) -> list[int]:
    """Where `PAM authentication failed for user "` may start the message that ends the line
    (at `end`, its closing quote), earliest first: only the last MAX_NAME characters can be the
    name, so there are at most two."""
    starts = []
    start = line.find(_MESSAGE, max(end - 1 - MAX_NAME - len(_MESSAGE), 0), end - 1)
    while start >= 0:
        starts.append(start)
        start = line.find(_MESSAGE, start + 1, end - 1)
    return starts


def _split(
    line: str, body: int, message: int, end: int, *, consistent: bool
) -> tuple[str, str, int] | None:
    """(user, database, pid) when `line[body:message]` is `<user>@<database>:[<pid>]:<LEVEL>: `.
    Consistent: the prefix's user is the message's name. Otherwise the database follows the last
    `@` and the message's name counts."""
    before = line[body:message].rstrip()
    level_at = before.rfind(":", 0, -1) + 1
    pid_at = before.rfind(":[", 0, level_at)
    pid = before[pid_at + 2 : level_at - 2]
    if (
        pid_at < 0
        or not before.endswith(":")
        or before[level_at - 2 : level_at] != "]:"
        or not (pid.isdecimal() and len(pid) <= 10)
        or not _LEVEL.fullmatch(before, level_at, len(before) - 1)
    ):
        return None
    user = line[message + len(_MESSAGE) : end - 1]
    if not consistent:
        at = before.rfind("@", 0, pid_at)
        return (user, before[at + 1 : pid_at], int(pid)) if at >= 0 else None
    if before.startswith(user + "@", 0, pid_at):
        return user, before[len(user) + 1 : pid_at], int(pid)
    return None


# A line whose prefix has no time: its CloudWatch event's time (ms) is taken instead, a second
# wide (RDS stamps the events as it ships the log; the matching tolerance absorbs the rest).
NO_TIME = -1
EVENT_TIME_PRECISION_MS = 1000


@dataclass
class PamLines:
    """What a read of the postgresql log found: the PAM failures, and counts of the rest. Memory
    is bounded by the event cap of the read that feeds it."""

    failures: list[PamFailure] = field(default_factory=list)
    unreadable: int = 0
    unreadable_samples: list[str] = field(default_factory=list)
    other: int = 0  # lines that are no PAM failure (when the server did not filter them out)
    # How a line is read: the default prefix, or bot/domain/log_line_prefix.line_reader's.
    reader: Callable[[str], PamFailure | Unreadable | None] = classify

    def add_lines(self, lines: Sequence[str]) -> None:
        for line in lines:
            self._add(line, None)

    def add_timed_lines(self, lines: Sequence[str], times: Sequence[int]) -> None:
        """Lines with their CloudWatch events' times (ms): for a prefix without a time."""
        for line, event_ms in zip(lines, times, strict=True):
            self._add(line, event_ms)

    def _add(self, line: str, event_ms: int | None) -> None:
        found = self.reader(line)
        if isinstance(found, PamFailure) and found.ms == NO_TIME:
            found = replace(found, ms=event_ms) if event_ms is not None else Unreadable(line)
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
