"""Read `PAM authentication failed` lines of a `postgresql` log written in any format: any
`log_line_prefix` (stderr), `csvlog` or `jsonlog`.

A prefix is compiled once (`compile_prefix`) into one anchored pattern for the text before the
line's `LEVEL:` and a reader splits each line structurally, like bot/domain/pam.py does for the
default prefix: the message `PAM authentication failed for user "<name>"` at the line's end (the
name is at most MAX_NAME characters, so its start is one of at most two places), the level just
before it, and so the prefix's end. The prefix text is then matched whole. What stays unambiguous:

- Fields with a fixed shape (`%t %m %s %n %p %P %l %x %e %c %v %Q %r %b`, padding included) are
  matched possessively: they never give back text, so they cannot cause backtracking. `%r` ends at
  its `(port)`: an address holds no parenthesis, and starts with a letter, a digit or `::`.
- `%u` is the message's name (PostgreSQL writes the same user in both): it is matched as that
  literal text, whatever it holds. Only when the prefix names another user is `%u` read as text.
- Text fields the client or the server's settings choose (`%d %a %i`, `%u` in that case) may
  hold any character. One of them, the database when the prefix has one, is elastic: it takes what
  the others leave, bounded to MAX_FIELD characters, so its placement costs at most MAX_FIELD
  tries of the (possessive) rest. Every other text field ends at the first copy of the text that
  follows it in the prefix: such a value must not contain that separator, or the line is
  Unreadable (never misread as another field).
- `%h` and `%L` are addresses (or `[local]`): the longest run of address characters, giving
  back at most MAX_ADDRESS of them when a `:` follows. An IPv4 address is read first and whole.
  An IPv6 address followed by `:` and later a text field holding `:` is ambiguous (`%h:%d:` with
  `2600::1` and `db:` or `2600::1:db`): the address takes the most it can.
- A padded field (`%5p`) is at least as wide as its padding: a lookahead keeps the text field
  before it from taking its spaces; when that is not enough (the field's characters continue
  into the separator, as an IPv6 address's into `:`), the width is checked after the match and a
  line that fails it is Unreadable, never misread.
- Two escapes with no text between them (`%p%l`) cannot be told apart: such a prefix is not
  `readable` and every PAM line is Unreadable, never misread.
- A prefix without a time (no `%t`, `%m` or `%n`) reads the failure with `ms` = NO_TIME: the
  CloudWatch event's own time stands in for it (PamLines.add_timed_lines), else it is Unreadable.

The event's time is `%n` (epoch, exact), else `%m` (milliseconds), else `%t`. A zone is read as
numeric (`+02`, `-0530`), as UTC/GMT/Z, as the abbreviation of the `zone` given (an
IANA name such as `Europe/Berlin`: its `log_timezone`), or from a table of common abbreviations.
An unknown abbreviation makes the line Unreadable rather than shifted by hours.

csvlog and jsonlog lines are read by their documented columns and keys (PostgreSQL 15/16).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.pam import (
    EVENT_TIME_PRECISION_MS,
    MAX_LINE,
    MAX_NAME,
    NO_TIME,
    PAM_PHRASE,
    WHOLE_SECOND_MS,
    PamFailure,
    Unreadable,
    classify,
)

DEFAULT_PREFIX = "%t:%r:%u@%d:[%p]:"
# The elastic field is at most this long: names are cut to MAX_NAME bytes, application_name too
# (PostgreSQL 16 may write non-ASCII bytes of it as 4-character escapes).
MAX_FIELD = 4 * MAX_NAME
# csvlog and jsonlog lines repeat names and quote them: they get more room.
MAX_STRUCTURED_LINE = 4 * MAX_LINE
_MESSAGE = f'{PAM_PHRASE} "'
_LEVELS = ("FATAL", "ERROR", "LOG", "WARNING", "NOTICE", "INFO", "PANIC", "DEBUG")

_STAMP = r"\d{4}-\d{2}-\d{2}\ \d{2}:\d{2}:\d{2}"
# %Z writes an abbreviation (UTC, CET) or, for a zone without one, `+05` or `+0530`.
_ZONE = r"(?:[+-]\d{2}(?:\d{2})?+|[A-Za-z]{1,6}+)"
# Fixed-shape escapes: possessive patterns. Their groups are named per escape (# is its index).
_FIXED: dict[str, str] = {
    "t": rf"(?P<stamp#>{_STAMP})\ (?P<zone#>{_ZONE})",
    "m": rf"(?P<stamp#>{_STAMP})\.(?P<frac#>\d{{3}})\ (?P<zone#>{_ZONE})",
    "s": rf"{_STAMP}\ {_ZONE}",
    "n": r"(?P<epoch#>\d{1,12}+)\.(?P<epochms#>\d{3})",
    "p": r"(?P<pid#>\d{1,10}+)",
    "P": r"\d*+",
    # Only a client backend (or a replication connection's walsender) authenticates.
    "b": r"client\ backend|walsender",
    "l": r"\d++",
    "x": r"\d++",
    "Q": r"-?+\d++",
    "e": r"[0-9A-Z]{5}",
    "c": r"[0-9a-f]++\.[0-9a-f]++",
    "v": r"(?:-?+\d++/\d++)?+",
    "r": r"(?:\[local\]|(?P<client#>(?:::|[0-9A-Za-z])[^\s()]*+)\((?P<port#>\d{1,5})\))?+",
}
_TEXT = frozenset("udai")
_ADDRESS_CLASS = "0-9A-Za-z.:%_-"
_ADDRESS_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.:%_-")
# What a padded fixed field holds besides its spaces (else any character).
_PAD_CLASSES = {
    **dict.fromkeys("pPlx", r"[\ \d]"),
    "Q": r"[\ \d-]",
    "n": r"[\ \d.]",
    "e": r"[\ 0-9A-Z]",
    "c": r"[\ 0-9a-f.]",
    "v": r"[\ \d/-]",
    **dict.fromkeys("hL", r"[\ 0-9A-Za-z.:%_\[\]-]"),
}
# An address or host name starts with a letter, a digit or `::`, never with one `:`.
_ADDRESS_START = "(?:::|[0-9A-Za-z])"
_IPV4 = r"\d{1,3}+(?:\.\d{1,3}+){3}+"
MAX_ADDRESS = 64  # an IPv6 address with a zone; longer host names need a separator they lack  # free text; `u` only when it is not the message's name
_ELASTIC_ORDER = "duai"
_ESCAPE = re.compile(r"%(-?+\d*+)(.)", re.DOTALL)

# Common abbreviations when the log's zone is not known (an ambiguous one like IST is left out).
ABBREVIATIONS: dict[str, float] = {
    "UTC": 0, "GMT": 0, "Z": 0, "UT": 0, "WET": 0, "WEST": 1, "BST": 1, "IST": 1,
    "CET": 1, "CEST": 2, "MET": 1, "MEST": 2, "EET": 2, "EEST": 3, "MSK": 3, "SAST": 2,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "AKST": -9, "AKDT": -8, "HST": -10, "AST": -4, "ADT": -3, "NST": -3.5, "NDT": -2.5,
    "JST": 9, "KST": 9, "HKT": 8, "SGT": 8, "AWST": 8, "ACST": 9.5, "ACDT": 10.5,
    "AEST": 10, "AEDT": 11, "NZST": 12, "NZDT": 13,
}  # fmt: skip
del ABBREVIATIONS["IST"]  # India, Ireland and Israel all use it


@dataclass(frozen=True, slots=True)
class Escape:
    letter: str
    pad: int  # PostgreSQL's padding: > 0 pads on the left, < 0 on the right


Token = str | Escape


def tokenize(prefix: str) -> list[Token]:
    """The prefix as literal text and escapes, the way PostgreSQL's log_line_prefix reads it: an
    escape with an unknown letter and a trailing `%` print nothing; `%%` is a `%`."""
    tokens: list[Token] = []
    at = 0
    for found in _ESCAPE.finditer(prefix):
        if found.start() > at:
            tokens.append(prefix[at : found.start()])
        at = found.end()
        pad, letter = found.groups()
        if letter == "%":
            tokens.append("%")
        elif letter in _FIXED or letter in _TEXT or letter in "hL":
            tokens.append(Escape(letter, int(pad) if pad not in ("", "-") else 0))
        # `%q` and unknown letters print nothing for a client backend
    rest = prefix[at:]
    if rest and rest != "%":
        tokens.append(rest.removesuffix("%") if rest.endswith("%") else rest)
    merged: list[Token] = []
    for token in tokens:  # join adjacent literals: separators are whole
        if isinstance(token, str) and merged and isinstance(merged[-1], str):
            merged[-1] += token
        else:
            merged.append(token)
    return merged


@dataclass(frozen=True)
class LinePrefix:
    """A compiled log_line_prefix: reads the PAM failures of lines written with it."""

    prefix: str
    zone: ZoneInfo | None
    readable: bool
    _named: re.Pattern[str] | None  # %u is the message's name
    _loose: re.Pattern[str] | None  # %u is text (the prefix names another user)
    _fields: dict[str, int]  # what the prefix has: letter -> index of its first escape
    _pads: dict[str, int]  # the padding of those first escapes
    _user_pads: tuple[int, ...]  # the padding of each padded %u, in order

    def read(self, line: str) -> PamFailure | Unreadable | None:
        if PAM_PHRASE not in line:
            return None
        if len(line) > MAX_LINE or not self.readable:
            return Unreadable(line)
        end = len(line.rstrip())
        if line[end - 1 : end] != '"':
            return Unreadable(line)
        for message in _message_starts(line, end):
            prefix_end = _prefix_end(line, message)
            if prefix_end is None:
                continue
            name = line[message + len(_MESSAGE) : end - 1]
            found = self._match(name, line[:prefix_end])
            if found is not None:
                failure = self._failure(found, name)
                return failure if failure is not None else Unreadable(line)
        return Unreadable(line)

    def _match(self, name: str, head: str) -> re.Match[str] | None:
        if "\x00" in name:
            return None
        # The padding of each padded %u for this name: exact, so no neighbour can take a space.
        spaces = "".join(" " * max(abs(pad) - len(name), 0) + "\x00" for pad in self._user_pads)
        for pattern in (self._named, self._loose):
            found = pattern.fullmatch(f"{name}\x00{spaces}{head}") if pattern else None
            if found:
                return found
        return None

    def _failure(self, found: re.Match[str], name: str) -> PamFailure | None:
        for group in found.re.groupindex:
            if group.startswith("pad") and len(found[group]) < int(group.partition("_")[2]):
                return None  # PostgreSQL would have padded it: another field took its spaces
        when = _moment(found, self._fields, self.zone)
        if when is None:
            return None
        ms, precision = when
        client, port = "", None
        if "r" in self._fields:
            index = self._fields["r"]
            client = found[f"client{index}"] or ("" if found[f"r{index}"] == "" else "[local]")
            port = int(found[f"port{index}"]) if found[f"port{index}"] else None
        elif "h" in self._fields:
            client = found[f"h{self._fields['h']}"]
        pid = int(found[f"pid{self._fields['p']}"]) if "p" in self._fields else 0
        database = ""
        if "d" in self._fields:
            database, pad = found[f"d{self._fields['d']}"], self._pads["d"]
            if pad and len(database) == abs(pad):  # padded, or exactly as long: strip the pad side
                database = database.lstrip(" ") if pad > 0 else database.rstrip(" ")
        return PamFailure(ms, precision, name, client, port, database, pid)


def compile_prefix(prefix: str, zone: str | None = None) -> LinePrefix:
    """Compile `prefix`; `zone` is the log's time zone (log_timezone) when known."""
    tokens = tokenize(prefix)
    fields: dict[str, int] = {}
    for index, token in enumerate(tokens):
        if isinstance(token, Escape):
            fields.setdefault(token.letter, index)
    named = _compile(tokens, fields, named_user=True)
    loose = _compile(tokens, fields, named_user=False) if "u" in fields else None
    pads = {letter: tokens[index].pad for letter, index in fields.items()}  # type: ignore[union-attr]
    user_pads = tuple(t.pad for t in tokens if isinstance(t, Escape) and t.letter == "u" and t.pad)
    return LinePrefix(
        prefix,
        _zone_info(zone),
        named is not None,
        named,
        loose,
        fields,
        pads,
        user_pads,
    )


def _compile(
    tokens: list[Token], fields: dict[str, int], *, named_user: bool
) -> re.Pattern[str] | None:
    texts = [
        i
        for i, t in enumerate(tokens)
        if isinstance(t, Escape) and t.letter in _TEXT and not (named_user and t.letter == "u")
    ]
    elastic = next(
        (i for letter in _ELASTIC_ORDER for i in texts if tokens[i].letter == letter),  # type: ignore[union-attr]
        None,
    )
    parts = [r"(?P<name>[^\x00]*+)\x00"]
    user_pads = [
        i for i, t in enumerate(tokens) if isinstance(t, Escape) and t.letter == "u" and t.pad
    ]
    parts += [f"(?P<upad{i}>\\ *+)\\x00" for i in user_pads]
    for index, token in enumerate(tokens):
        if isinstance(token, str):
            parts.append(re.escape(token))
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if isinstance(following, Escape):
            return None  # two fields side by side: no way to tell where one ends
        width = abs(token.pad)  # a padded text field is at least this long, spaces included
        if token.letter == "u" and named_user:
            body = "(?P=name)"
            if token.pad:
                spaces = f"(?P=upad{index})"
                body = spaces + body if token.pad > 0 else body + spaces
        elif index == elastic:
            body = f".{{{width},{MAX_FIELD + width}}}"
        elif index in texts:
            char = f"(?:(?!{re.escape(following)}).)" if isinstance(following, str) else "."
            body = f"{char}*+"
        elif token.letter in "hL":
            body = _address(following)
        else:
            body = _FIXED[token.letter].replace("#", str(index))
        # The first escape of a letter is captured whole (its padding stripped when read).
        group = f"?P<{token.letter}{index}>" if fields[token.letter] == index else "?:"
        if token.pad == 0 or index == elastic or (token.letter == "u" and named_user):
            parts.append(f"({group}{body})")
        else:
            chars = _PAD_CLASSES.get(token.letter, ".")
            if index in texts and isinstance(following, str):  # spaces or the value's characters
                chars = f"(?:\\ |(?!{re.escape(following)}).)"
            parts.append(_padded(f"({group}{body})", token.pad, chars, index))
    return re.compile("".join(parts), re.DOTALL)


def _address(following: Token | None) -> str:
    """%h and %L: `[local]`, an IPv4 address, or else an IPv6 address or host name (with
    log_hostname). When the text that follows can continue an address (`:` after an IPv6 one),
    the address gives back characters, at most MAX_ADDRESS of them."""
    if isinstance(following, str) and following[0] in _ADDRESS_CHARS:
        return rf"\[local\]|{_IPV4}|{_ADDRESS_START}[{_ADDRESS_CLASS}]{{0,{MAX_ADDRESS}}}"
    return rf"\[local\]|{_ADDRESS_START}[{_ADDRESS_CLASS}]*+"


def _padded(body: str, pad: int, chars: str, index: int) -> str:
    """PostgreSQL pads a value shorter than |pad| with spaces: before it when pad > 0. The field,
    spaces included, is then at least |pad| long: a lookahead keeps a text field before or after
    from taking its spaces, and `pad<index>_<width>` is checked after the match (LinePrefix._failure)."""
    width = abs(pad)
    spaces = f"\\ {{0,{width}}}"
    padded = spaces + body if pad > 0 else body + spaces
    return f"(?P<pad{index}_{width}>(?={chars}{{{width}}}){padded})"


def _message_starts(line: str, end: int) -> list[int]:
    starts = []
    start = line.find(_MESSAGE, max(end - 1 - MAX_NAME - len(_MESSAGE), 0), end - 1)
    while start >= 0:
        starts.append(start)
        start = line.find(_MESSAGE, start + 1, end - 1)
    return starts


def _prefix_end(line: str, message: int) -> int | None:
    """Where the prefix ends: before the `LEVEL:` and spaces that precede the message."""
    before = line[:message].rstrip(" ")
    if not before.endswith(":"):
        return None
    for level in _LEVELS:
        if before.endswith(level + ":"):
            return len(before) - len(level) - 1
        if level == "DEBUG" and re.search(r"DEBUG[1-5]:\Z", before[-8:]):
            return len(before) - 7
    return None


def _moment(
    found: re.Match[str], fields: dict[str, int], zone: ZoneInfo | None
) -> tuple[int, int] | None:
    """(epoch ms, precision ms) of the line's time: %n, else %m, else %t; None if unreadable;
    NO_TIME when the prefix has none (the event's time is taken instead)."""
    if not fields.keys() & {"n", "m", "t"}:
        return NO_TIME, EVENT_TIME_PRECISION_MS
    if "n" in fields:
        i = fields["n"]
        return int(found[f"epoch{i}"]) * 1000 + int(found[f"epochms{i}"]), 1
    for letter, precision in (("m", 1), ("t", WHOLE_SECOND_MS)):
        if letter in fields:
            i = fields[letter]
            frac = found.groupdict().get(f"frac{i}")
            return _local_ms(found[f"stamp{i}"], frac, found[f"zone{i}"], zone, precision)
    return None


def _local_ms(
    stamp: str, frac: str | None, zone_text: str, zone: ZoneInfo | None, precision: int
) -> tuple[int, int] | None:
    try:
        local = datetime.fromisoformat(stamp.replace(" ", "T"))
    except ValueError:
        return None
    offset = zone_offset(zone_text, local, zone)
    if offset is None:
        return None
    moment = local.replace(tzinfo=UTC) - offset
    return int(moment.timestamp()) * 1000 + (int(frac) if frac else 0), precision


def zone_offset(text: str, local: datetime, zone: ZoneInfo | None = None) -> timedelta | None:
    """East of UTC for a zone as PostgreSQL's %Z writes it, at local time `local`."""
    if text[0] in "+-":
        digits = text[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:] or 0)
        if hours > 15 or minutes > 59:
            return None
        return (-1 if text[0] == "-" else 1) * timedelta(hours=hours, minutes=minutes)
    if zone is not None:
        for fold in (0, 1):
            there = local.replace(tzinfo=zone, fold=fold)
            if there.tzname() == text:
                return there.utcoffset()
    known = ABBREVIATIONS.get(text.upper())
    return None if known is None else timedelta(hours=known)


def _zone_info(zone: str | None) -> ZoneInfo | None:
    if not zone:
        return None
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return None


# csvlog columns, PostgreSQL 15/16 (docs: "Using CSV-Format Log Output").
CSV_COLUMNS = (
    "log_time", "user_name", "database_name", "process_id", "connection_from", "session_id",
    "session_line_num", "command_tag", "session_start_time", "virtual_transaction_id",
    "transaction_id", "error_severity", "sql_state_code", "message", "detail", "hint",
    "internal_query", "internal_query_pos", "context", "query", "query_pos", "location",
    "application_name", "backend_type", "leader_pid", "query_id",
)  # fmt: skip
_CSV_TIME = re.compile(rf"(?P<stamp>{_STAMP})\.(?P<frac>\d{{3}})\ (?P<zone>{_ZONE})")
_PAM_MESSAGE = re.compile(rf'{PAM_PHRASE} "(?P<name>.*)"', re.DOTALL)


def read_csv_line(line: str, zone: ZoneInfo | None = None) -> PamFailure | Unreadable | None:
    """The PAM failure of one csvlog record."""
    if PAM_PHRASE not in line:
        return None
    if len(line) > MAX_STRUCTURED_LINE:
        return Unreadable(line)
    try:
        row = next(csv.reader([line.rstrip("\r\n")], strict=True))
    except (csv.Error, StopIteration):
        return Unreadable(line)
    if len(row) < CSV_COLUMNS.index("message") + 1:
        return Unreadable(line)
    record = dict(zip(CSV_COLUMNS, row, strict=False))
    host, port = _split_connection(record["connection_from"])
    return _structured(
        line, record["log_time"], record["message"], record["user_name"],
        record["database_name"], record["process_id"], host, port, zone,
    )  # fmt: skip


def read_json_line(line: str, zone: ZoneInfo | None = None) -> PamFailure | Unreadable | None:
    """The PAM failure of one jsonlog record (keys of PostgreSQL 15's jsonlog)."""
    if PAM_PHRASE not in line:
        return None
    if len(line) > MAX_STRUCTURED_LINE:
        return Unreadable(line)
    try:
        record = json.loads(line)
    except ValueError:
        return Unreadable(line)
    if not isinstance(record, dict):
        return Unreadable(line)
    port = record.get("remote_port")
    return _structured(
        line, record.get("timestamp"), record.get("message"), record.get("user"),
        record.get("dbname", ""), record.get("pid"), record.get("remote_host", ""),
        str(port) if port is not None else "", zone,
    )  # fmt: skip


def _split_connection(text: str) -> tuple[str, str]:
    """csvlog's connection_from: `host:port`, `[local]` or empty; IPv6 hosts hold colons, the
    port is after the last."""
    host, colon, port = text.rpartition(":")
    if colon and port.isdecimal() and host:
        return host, port
    return text, ""


def _structured(
    line: str,
    stamp: object,
    message: object,
    user: object,
    database: object,
    pid: object,
    host: object,
    port: str,
    zone: ZoneInfo | None,
) -> PamFailure | Unreadable | None:
    if not isinstance(message, str) or not message.startswith(PAM_PHRASE):
        return None  # the phrase is in another field: a statement or detail that quotes it
    said = _PAM_MESSAGE.fullmatch(message)
    time = _CSV_TIME.fullmatch(stamp) if isinstance(stamp, str) else None
    if said is None or time is None or not isinstance(database, str) or not isinstance(host, str):
        return Unreadable(line)
    when = _local_ms(time["stamp"], time["frac"], time["zone"], zone, 1)
    pid_text = str(pid) if isinstance(pid, int | str) else ""
    if when is None or not pid_text.isdecimal() or (port and not port.isdecimal()):
        return Unreadable(line)
    name = said["name"]
    if isinstance(user, str) and user and user != name:
        return Unreadable(line)
    return PamFailure(
        when[0], when[1], name, host, int(port) if port else None, database, int(pid_text)
    )


@dataclass(frozen=True)
class LogFormat:
    """How the cluster writes its postgresql log: its parameter group's values."""

    prefix: str = DEFAULT_PREFIX
    destination: str = "stderr"  # log_destination: stderr, csvlog, jsonlog, or a list of them
    zone: str | None = None  # log_timezone

    @property
    def is_default(self) -> bool:
        return self.prefix == DEFAULT_PREFIX and self.destination in ("", "stderr")


def line_reader(log_format: LogFormat) -> Callable[[str], PamFailure | Unreadable | None]:
    """A reader for lines of `log_format`. The default prefix keeps pam.classify and its fast
    path (the compiled prefix then reads only what it cannot: a named zone); csvlog and jsonlog
    records are told apart by their first character."""
    zone = _zone_info(log_format.zone)
    destinations = {d.strip() for d in log_format.destination.split(",")}
    compiled = compile_prefix(log_format.prefix, log_format.zone)
    default = log_format.prefix == DEFAULT_PREFIX

    def stderr(line: str) -> PamFailure | Unreadable | None:
        found = classify(line) if default else compiled.read(line)
        if default and isinstance(found, Unreadable):
            again = compiled.read(line)
            return again if isinstance(again, PamFailure) else found
        return found

    def read(line: str) -> PamFailure | Unreadable | None:
        start = line.lstrip()[:1]
        if "jsonlog" in destinations and start == "{":
            return read_json_line(line, zone)
        if "csvlog" in destinations and (start == '"' or _CSV_START.match(line)):
            found = read_csv_line(line, zone)
            if isinstance(found, PamFailure) or "stderr" not in destinations:
                return found
        return stderr(line)

    return read


_CSV_START = re.compile(r"\d{4}-\d\d-\d\d [^,]{0,40},")
