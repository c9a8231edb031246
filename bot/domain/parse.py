"""Parse `iam-db-auth-error` log lines into AuthFailure records.

The format is documented only by example, in two shapes: whole lines as the log holds them
(`2025-08-11T04:00:05,804 [ERROR] … for user 'testuser' because … (Status Code: 400, Error Code:
InvalidToken)`), and, in the IAM DB auth troubleshooting table, lines with no timestamp and an
unquoted user (`[ERROR] … for user db_user because … (Status Code: 400, Error Code:ExpiredToken)`).
So the parser is tolerant: the timestamp may be missing (the CloudWatch event's own time is used
then, `event_ms`), the user may be quoted or not, the spacing around the suffix varies (`Error
Code:X`, `Error Code: X`, `Status Code:400`), the suffix may be broken across lines, and codes not
known today are kept under their own name. It never raises: a line it cannot read returns None and
the caller counts it as unparsed.

The database user name is whatever the client sent: it may hold quotes, `because`, `caller '…'` or
a whole fake suffix. So the line is split only at positions the user cannot move: the fixed start
(time, level, the first `for user `), the suffix anchored at the line's end (its `(` is the line's
last one: no code or status holds a parenthesis), and the end of the user, found from the right
because AWS's wording after the user holds no `because` / `due to`:
- quoted (`for user '` at the fixed start): the last `' because ` / `' due to `;
- unquoted: the last ` because ` / ` due to ` (any whitespace around them). So a bare name may hold
  spaces, `because` and quotes and still reads whole. One case cannot be told apart: a bare name
  that itself starts with a quote and holds `' because ` reads as the quoted name it imitates (the
  two lines are the same text). That moves the user's boundary only, never the caller.

The caller ARN is read only after both the user and the line's last ` because ` / ` due to ` (AWS's
wording that names the caller follows it), so no user name, quoted or not, can supply the caller.

Cost is linear in the line: lines over MAX_LINE are not parsed at all (unparsed, counted), and the
few patterns are anchored with possessive quantifiers, so they cannot backtrack.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.domain.records import AuthFailure

# A real line is under ~1,000 characters: ~230 of wording, a user name (PostgreSQL cuts it to 63
# bytes, MySQL allows 32 characters), an ARN of at most ~600 (a role path is at most 512). Longer
# lines are not parsed at all: they count as unparsed.
MAX_LINE = 4_096

# The timestamp is optional: AWS's troubleshooting table prints lines without one.
_HEAD = re.compile(
    r"""\s*+
    (?:(?P<ts>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(?:[,.](?P<frac>\d{1,6}))?
    (?:Z|[+-]00:?00|\ UTC)?)?
    \s*+\[(?P<level>[A-Za-z]++)\]\s*+""",
    re.VERBOSE,
)
# What is between the suffix's parentheses.
_SUFFIX = re.compile(
    r"""\s*+(?:Status\s*+Code\s*+:\s*+(?P<status>\d{1,3})\s*+,?\s*+)?
    Error\s*+Code\s*+:\s*+(?P<code>[A-Za-z0-9_.:-]++)\s*+""",
    re.VERBOSE,
)
_USER_OPENS = "for user "
_USER_CLOSES = ("' because ", "' due to ")
# What follows the user in AWS's wording: ` because …` or ` due to …`, with any whitespace.
_AFTER_USER = re.compile(r"\s(?:because|due\s++to)(?=\s)")
_CALLER = re.compile(r"caller '(?P<arn>arn:[^'\s]++)'")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_line(line: str, event_ms: int | None = None) -> AuthFailure | None:
    """Return the record for one log line, or None when the line is not readable.

    `event_ms` is the CloudWatch event's own time (ms since the epoch): the record's time when the
    line has no timestamp of its own (a line with neither is not readable)."""
    if len(line) > MAX_LINE:
        return None
    head = _HEAD.match(line)
    if head is None or (head["ts"] is None and event_ms is None):
        return None
    end = len(line.rstrip())
    open_at = line.rfind("(", head.end(), end)
    if open_at < 0 or line[end - 1] != ")":
        return None
    suffix = _SUFFIX.fullmatch(line, open_at + 1, end - 1)
    if suffix is None:
        return None
    time = _time(head["ts"], head["frac"], event_ms)
    if time is None:
        return None
    raw_reason = line[head.end() : open_at].rstrip()
    user, after_user = _user(raw_reason)
    status = suffix["status"]
    return AuthFailure(
        time=time,
        level=head["level"].upper(),
        user=user,
        reason=_one_line(raw_reason),
        status=int(status) if status else None,
        code=suffix["code"],
        caller_arn=_caller_after(raw_reason, after_user),
    )


def _time(stamp: str | None, frac: str | None, event_ms: int | None) -> datetime | None:
    """The line's own time (UTC), else the event's; None for a time that does not exist."""
    if stamp is None:
        assert event_ms is not None
        return event_time(event_ms)
    try:
        time = datetime.fromisoformat(stamp.replace(" ", "T")).replace(tzinfo=UTC)
    except ValueError:
        return None
    return time.replace(microsecond=int(frac.ljust(6, "0"))) if frac else time


def event_time(event_ms: int) -> datetime | None:
    """A CloudWatch event's time (ms since the epoch) as a UTC datetime; None if out of range."""
    try:
        return _EPOCH + timedelta(milliseconds=event_ms)
    except OverflowError:
        return None


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text else text


def _user(reason: str) -> tuple[str, int]:
    """The database user named in the reason, and where the text after it starts ("", 0 when
    the reason names none). Only the first `for user ` is AWS's: the user comes after it."""
    opens = reason.find(_USER_OPENS)
    if opens < 0:
        return "", 0
    first = opens + len(_USER_OPENS)
    if reason.startswith("'", first):
        closes = max(reason.rfind(close, first + 1) for close in _USER_CLOSES)
        if closes < 0:
            closes = _closing_quote_at_end(reason, first + 1)
        if closes >= 0:
            return reason[first + 1 : closes], closes
    bare_end = _last_after_user(reason, first)
    if bare_end >= 0:
        return reason[first:bare_end], bare_end
    return "", 0


def _last_after_user(reason: str, start: int) -> int:
    """Where the last ` because ` / ` due to ` at or after `start` begins; -1 if none. Linear:
    the pattern is fixed and possessive, and the matches are scanned once."""
    at = -1
    for found in _AFTER_USER.finditer(reason, start):
        at = found.start()
    return at


def _closing_quote_at_end(reason: str, first: int) -> int:
    """Wording of codes not known today may end right after the name: `for user 'x'` or `'x'.`"""
    closes = len(reason) - (2 if reason[-1:] in (".", ",", ";", ":") else 1)
    return closes if closes >= first and reason[closes] == "'" else -1


def _caller_after(reason: str, user_end: int) -> str | None:
    """The ARN in `caller '<arn>'` of the reason's text after the user's end and after its last
    ` because ` / ` due to ` (where AWS's wording that names the caller starts): text a user name
    supplies comes before both, whichever way the name is quoted."""
    if reason.find("caller", user_end) < 0:
        return None
    start = max(user_end, _last_after_user(reason, user_end))
    found = _CALLER.search(_one_line(reason[start:]))
    return found["arn"] if found else None


# The fast path ---------------------------------------------------------------------------------
# Nearly every line has exactly the documented shape. For those, plain string operations (all in C)
# give the same fields as parse_line at a fraction of the cost; anything unusual returns None and
# the caller falls back to parse_line. tests/unit/test_parse.py checks that the two always agree.

_STAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")
_CODE = re.compile(r"[A-Za-z0-9_.:-]+")
_seconds: dict[str, bool] = {}
_codes: set[str] = set()


def valid_second(prefix: str) -> bool:
    """Whether `2025-08-11T04:00:05` is a real time; cached, a busy log has many lines a second."""
    valid = _seconds.get(prefix)
    if valid is None:
        valid = bool(_STAMP.fullmatch(prefix))
        if valid:
            try:
                datetime.fromisoformat(prefix)
            except ValueError:
                valid = False
        if len(_seconds) > 100_000:
            _seconds.clear()
        _seconds[prefix] = valid
    return valid


_epoch_seconds: dict[str, int] = {}


def epoch_second(prefix: str) -> int | None:
    """Seconds since the epoch for a UTC `2025-08-11T04:00:05` (or with a space); None if not a
    real time. Cached: a busy log has many lines a second."""
    seconds = _epoch_seconds.get(prefix)
    if seconds is None:
        try:
            moment = datetime.fromisoformat(prefix.replace(" ", "T")).replace(tzinfo=UTC)
        except ValueError:
            return None
        seconds = int(moment.timestamp())
        if len(_epoch_seconds) > 100_000:
            _epoch_seconds.clear()
        _epoch_seconds[prefix] = seconds
    return seconds


def _strip_one_space(text: str) -> str:
    return text[1:] if text.startswith(" ") else text


def fast_fields(line: str) -> tuple[str, str, str, str | None] | None:
    """(time text `YYYY-MM-DDTHH:MM:SS,mmm`, user, code, caller ARN) for a line of the documented
    shape, or None for anything else (then parse_line decides)."""
    if not 40 <= len(line) <= MAX_LINE:
        return None
    if line[19] != "," or line[23:25] != " [" or line[-1] != ")" or "\n" in line:
        return None
    millis = line[20:23]
    if not (millis.isascii() and millis.isdigit() and valid_second(line[:19])):
        return None
    close = line.find("] ", 25)
    level = line[25:close]
    if close < 0 or not (level.isascii() and level.isalpha()):
        return None
    suffix_at = line.rfind(" (Status Code:")
    reason_at = close + 2
    if (
        suffix_at <= reason_at
        or line.rfind("(") != suffix_at + 1
        or line[reason_at].isspace()
        or line[suffix_at - 1].isspace()
    ):
        return None
    parts = line[suffix_at + 14 : -1].split(", Error Code:")
    if len(parts) != 2:
        return None
    status, code = _strip_one_space(parts[0]), _strip_one_space(parts[1])
    if not (status.isascii() and status.isdigit() and len(status) <= 3):
        return None
    if code not in _codes:
        if not _CODE.fullmatch(code):
            return None
        if len(_codes) > 10_000:
            _codes.clear()
        _codes.add(code)
    reason = line[reason_at:suffix_at]
    start = reason.find("for user ")
    # A bare (unquoted) user is parse_line's to read.
    if start < 0 or reason[start + 9 : start + 10] != "'":
        return None
    end = max(reason.rfind("' because ", start + 10), reason.rfind("' due to ", start + 10))
    if end < 0:
        # Wording of codes not known today may end right after the name, as parse_line allows.
        end = len(reason) - (2 if reason[-1:] in (".", ",", ";", ":") else 1)
        if end < start + 10 or reason[end] != "'":
            return None
    return line[:23], reason[start + 10 : end], code, _caller_after(reason, end)


def stamp_time(stamp: str) -> datetime:
    """The UTC time of a fast_fields time text."""
    return datetime.fromisoformat(stamp[:19]).replace(
        tzinfo=UTC, microsecond=int(stamp[20:23]) * 1000
    )
