"""Exact counts at any volume: when FilterLogEvents cannot read a window in time, CloudWatch Logs
Insights counts it server-side. Pure: the query texts, the choice of path, result rows → counts.

FilterLogEvents gives at most 10,000 events or 1 MB a page, at about 5 requests/s per account and
region (shared by every caller): a 24 h window at 1,000 failures/s is 86 M lines, hours of pages.
The metric total (`IamDbAuthConnectionFailure`) is known before any log is read, so the number of
pages, and the time they take, can be estimated first (`filter_read_fits`).

The Insights query parses each line the way bot/domain/parse.py does, with regex named captures
(`parse <field> /(?<name>…)/`, AWS's documented syntax; only constructs common to the usual regex
engines: no lookaround, no possessive quantifiers), and groups with `stats count(*) … by`:
- the line: optional time, `[LEVEL]`, the reason, and the suffix at the line's end (its `(` is the
  line's last one), `Error Code:X` / `Error Code: X`, whitespace anywhere (`(?s)`: the suffix may
  be broken across lines);
- the user, after the reason's FIRST `for user ` (a lazy `^.*?` with nothing that can fail after
  it pins the first one): quoted up to the LAST `' because ` / `' due to ` (`quser`), else a
  quote closing at the reason's end (`equser`), else bare up to the last ` because ` / ` due to `
  (`buser`); the three are captured separately and chosen here in parse.py's order;
- the caller ARN: the first `caller '<arn>'` after the reason's last ` because ` / ` due to `
  (or anywhere in a reason with neither and no user), and only when the user did not end at the
  reason's end (then no wording follows it), so no user name can supply it.
Lines over parse.MAX_LINE are not parsed (`strlen` filter), as parse.py does: they count as
unparsed, like every line without a code, as the window's events minus the parsed ones.

A `stats` result holds at most 10,000 rows (StartQuery's `limit`, at most 10,000, is also the
rows' cap). A slice whose result is full is split in time halves, down to one minute; a minute
still full (more distinct (code, user, caller) than rows: hostile user names) is itemised up to
the rows returned and its other failures are counted by code only (`not_itemised`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.domain.parse import MAX_LINE
from bot.domain.window import Window

# Limits of the APIs (checked against AWS's API reference, 2026-11-30).
MAX_ROWS = 10_000  # rows of one Logs Insights result; StartQuery's `limit` is at most this
PAGE_EVENTS = 10_000  # FilterLogEvents: events per page …
PAGE_BYTES = 1_048_576  # … or bytes per page, whichever comes first
EVENT_OVERHEAD_BYTES = 26  # CloudWatch counts each event's message plus 26 bytes
# A documented line is ~230 characters of wording plus the user and, for NotAuthorized, an ARN.
TYPICAL_LINE_BYTES = 300
DEFAULT_FILTER_REQUESTS_PER_SECOND = 5.0  # FilterLogEvents' quota per account and region
DEFAULT_EXACT_READ_SECONDS = 20
SMALLEST_SLICE = timedelta(minutes=1)

# Named capture groups in AWS's syntax `(?<name>…)`; `python_regex` turns them into Python's.
LINE_REGEX = (
    r"(?s)^\s*(?:\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[,.]\d{1,6})?(?:Z|[+-]00:?00| UTC)?)?"
    r"\s*\[[A-Za-z]+\]\s*(?<reason>.*?)\s*\((?:\s*Status\s*Code\s*:\s*\d{1,3}\s*,?)?"
    r"\s*Error\s*Code\s*:\s*(?<code>[A-Za-z0-9_.:-]+)\s*\)\s*$"
)
AFTER_USER_REGEX = r"(?s)^.*?for user (?<after>.*)$"
QUOTED_USER_REGEX = r"(?s)^'(?<quser>.*)'(?: because | due to )"
END_QUOTED_USER_REGEX = r"(?s)^'(?<equser>.*)'[.,;:]?$"
BARE_USER_REGEX = r"(?s)^(?<buser>.*)\s(?:because|due\s+to)\s"
WORDING_TAIL_REGEX = r"(?s)^.*\s(?<wording>because|due\s+to)\s(?<tail>.*)$"
CALLER_REGEX = r"caller '(?<caller>arn:[^'\s]+)'"
REASON_CALLER_REGEX = r"caller '(?<rcaller>arn:[^'\s]+)'"

# (field parsed, regex) in the order the query applies them.
PARSES: tuple[tuple[str, str], ...] = (
    ("@message", LINE_REGEX),
    ("reason", AFTER_USER_REGEX),
    ("after", QUOTED_USER_REGEX),
    ("after", END_QUOTED_USER_REGEX),
    ("after", BARE_USER_REGEX),
    ("reason", WORDING_TAIL_REGEX),
    ("tail", CALLER_REGEX),
    ("reason", REASON_CALLER_REGEX),
)
GROUP_FIELDS = ("code", "quser", "equser", "buser", "wording", "caller", "rcaller")


def _parse_commands() -> str:
    first = f"filter strlen(@message) <= {MAX_LINE}\n| parse @message /{LINE_REGEX}/\n"
    rest = "".join(f"| parse {source} /{regex}/\n" for source, regex in PARSES[1:])
    return first + "| filter ispresent(code)\n" + rest


# Every event of the window (one row): the parsed ones are the groups' sum, the rest unparsed.
EVENTS_QUERY = "stats count(*) as events"
# Failures by (code, user captures, caller), with their first and last times.
GROUPS_QUERY = (
    _parse_commands()
    + "| stats count(*) as n, min(@timestamp) as first, max(@timestamp) as last by "
    + ", ".join(GROUP_FIELDS)
)
# Failures by code only: a full minute's totals, for what its groups could not itemise.
CODES_QUERY = (
    f"filter strlen(@message) <= {MAX_LINE}\n| parse @message /{LINE_REGEX}/\n"
    "| filter ispresent(code)\n| stats count(*) as n by code"
)


def python_regex(insights_regex: str) -> re.Pattern[str]:
    """The same regex for Python's `re` (named groups spelled `(?P<name>…)`)."""
    return re.compile(insights_regex.replace("(?<", "(?P<"))


# Choosing the path --------------------------------------------------------------------------------
def filter_pages(events: int, line_bytes: int = TYPICAL_LINE_BYTES) -> int:
    """FilterLogEvents pages needed for `events` events: max(events/10,000, bytes/1 MB)."""
    by_events = -(-events // PAGE_EVENTS)
    by_bytes = -(-(events * (line_bytes + EVENT_OVERHEAD_BYTES)) // PAGE_BYTES)
    return max(by_events, by_bytes, 1)


def filter_read_seconds(
    events: int, requests_per_second: float = DEFAULT_FILTER_REQUESTS_PER_SECOND
) -> float:
    """About how long FilterLogEvents takes to read `events` events at the request rate."""
    return filter_pages(events) / requests_per_second


def filter_read_fits(
    failures: int,
    budget_seconds: float,
    event_cap: int,
    requests_per_second: float = DEFAULT_FILTER_REQUESTS_PER_SECOND,
) -> bool:
    """Whether FilterLogEvents can read every failure of the window (the metric total) within
    the budget and the event cap. A budget of 0 never asks Logs Insights."""
    if budget_seconds <= 0:
        return True
    return failures <= event_cap and (
        filter_read_seconds(failures, requests_per_second) <= budget_seconds
    )


# Slicing ------------------------------------------------------------------------------------------
def query_seconds(window: Window) -> tuple[int, int]:
    """StartQuery's startTime and endTime (epoch seconds, both inclusive) for `[start, end)` on
    whole seconds (Window.ending_at makes them so)."""
    start = int(window.start.timestamp())
    end = int(window.end.timestamp())
    return start, max(start, end - 1)


def halves(window: Window) -> tuple[Window, Window] | None:
    """The older and newer halves of `window`, split at a whole second; None at SMALLEST_SLICE."""
    if window.duration <= SMALLEST_SLICE:
        return None
    middle = window.start + timedelta(seconds=int(window.duration.total_seconds()) // 2)
    return Window(window.start, middle), Window(middle, window.end)


# Reading results ----------------------------------------------------------------------------------
Row = Sequence[Mapping[str, str]]  # GetQueryResults: one row is a list of {field, value}


def row_values(row: Row) -> dict[str, str]:
    """A result row as {field: value}; a field with no value is absent from the row."""
    return {cell["field"]: cell["value"] for cell in row if "field" in cell and "value" in cell}


def insights_time(text: str | None) -> datetime | None:
    """`2025-08-11 04:00:05.804` (how Insights prints @timestamp, UTC) or epoch ms; None if not
    readable."""
    if not text:
        return None
    if text.isdigit():
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(text))
    try:
        return datetime.fromisoformat(text.replace(" ", "T")).replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Group:
    """Failures of one (code, user, caller) in a slice, as parse.py reads their lines."""

    code: str
    user: str
    caller: str | None
    n: int
    first: datetime | None
    last: datetime | None


def _caller(values: Mapping[str, str], user_ends_the_reason: bool) -> str | None:
    """parse.py's caller: read after the reason's last ` because ` / ` due to ` (`caller`), or,
    when there is none and no user was read (`for user ` missing or unreadable), anywhere in
    the reason (`rcaller`). A user closing at the reason's end is followed by no wording: any
    caller there is the name's."""
    if user_ends_the_reason:
        return None
    if values.get("wording") is not None:
        return values.get("caller")
    no_user = all(values.get(f) is None for f in ("quser", "equser", "buser"))
    return values.get("rcaller") if no_user else None


def group_of(values: Mapping[str, str]) -> Group | None:
    """The group of one GROUPS_QUERY row; None for a row without a code or count."""
    code, count = values.get("code"), values.get("n")
    if not code or not count or not count.isdigit():
        return None
    quoted, end_quoted, bare = values.get("quser"), values.get("equser"), values.get("buser")
    user = next((u for u in (quoted, end_quoted, bare) if u is not None), "")
    caller = _caller(values, quoted is None and end_quoted is not None)
    return Group(
        code,
        user,
        caller or None,
        int(count),
        insights_time(values.get("first")),
        insights_time(values.get("last")),
    )


@dataclass
class ExactCounts:
    """A window's failures counted by Logs Insights: every event, whatever the volume."""

    groups: dict[tuple[str, str, str | None], Group] = field(default_factory=dict)
    not_itemised: Counter[str] = field(default_factory=Counter)  # by code, from full minutes
    events: int = 0  # every event of the window, parsed or not
    queries: int = 0
    slices: int = 0
    full_slices: int = 0  # minutes whose groups did not fit one result

    def add_rows(self, rows: Iterable[Row]) -> Counter[str]:
        """Merge a slice's GROUPS_QUERY rows; returns what they itemise, by code."""
        itemised: Counter[str] = Counter()
        for row in rows:
            group = group_of(row_values(row))
            if group is None:
                continue
            itemised[group.code] += group.n
            key = (group.code, group.user, group.caller)
            known = self.groups.get(key)
            self.groups[key] = group if known is None else _merged(known, group)
        return itemised

    def add_code_totals(self, rows: Iterable[Row], itemised: Mapping[str, int]) -> None:
        """A full minute: its CODES_QUERY totals beyond what its groups itemised."""
        for row in rows:
            values = row_values(row)
            code, count = values.get("code"), values.get("n", "")
            if code and count.isdigit():
                self.not_itemised[code] += max(int(count) - itemised.get(code, 0), 0)

    @property
    def parsed(self) -> int:
        return sum(g.n for g in self.groups.values()) + sum(self.not_itemised.values())

    @property
    def unparsed(self) -> int:
        return max(self.events - self.parsed, 0)

    @property
    def first_seen(self) -> datetime | None:
        return min((g.first for g in self.groups.values() if g.first), default=None)

    @property
    def last_seen(self) -> datetime | None:
        return max((g.last for g in self.groups.values() if g.last), default=None)

    def most_first(self) -> list[Group]:
        """Groups, most failures first (ties by name): what a bounded summary itemises first."""
        return sorted(self.groups.values(), key=lambda g: (-g.n, g.code, g.user, g.caller or ""))


def _merged(a: Group, b: Group) -> Group:
    firsts = [t for t in (a.first, b.first) if t]
    lasts = [t for t in (a.last, b.last) if t]
    return Group(
        a.code,
        a.user,
        a.caller,
        a.n + b.n,
        min(firsts) if firsts else None,
        max(lasts) if lasts else None,
    )


def events_of(rows: Iterable[Row]) -> int | None:
    """The count of an EVENTS_QUERY result; None when the result holds none (a service that
    ignored `stats`, like the emulator: its other results cannot be trusted either)."""
    for row in rows:
        count = row_values(row).get("events", "")
        if count.isdigit():
            return int(count)
    return None
