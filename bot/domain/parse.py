"""Parse `iam-db-auth-error` log lines into AuthFailure records.

The format is documented only by example, so the parser is tolerant: the spacing around the
`(Status Code: 400, Error Code: InvalidToken)` suffix varies, the suffix may be broken across lines,
and codes not known today are kept under their own name. It never raises: a line it cannot read
returns None and the caller counts it as unparsed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.domain.records import AuthFailure

_LINE = re.compile(
    r"""\A\s*
    (?P<ts>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(?:[,.](?P<frac>\d{1,6}))?(?:Z|[+-]00:?00|\ UTC)?
    \s*\[(?P<level>[A-Za-z]+)\]\s*
    (?P<reason>.*?)
    \s*\(\s*(?:Status\s*Code\s*:\s*(?P<status>\d{1,3})\s*,?\s*)?
    Error\s*Code\s*:\s*(?P<code>[A-Za-z0-9_.:-]+?)\s*\)\s*\Z""",
    re.VERBOSE | re.DOTALL,
)
# Greedy up to the last "' because " / "' due to ": a user name may itself contain quotes.
_QUOTED_USER = re.compile(r"for user '(?P<user>.*)' (?:because|due to) ", re.DOTALL)
# Wording of codes not known today may end right after the name.
_QUOTED_USER_AT_END = re.compile(r"for user '(?P<user>.*)'[.,;:]?\s*\Z", re.DOTALL)
_BARE_USER = re.compile(r"for user (?P<user>\S+)\s+(?:because|due to)\b")
_CALLER = re.compile(r"caller '(?P<arn>arn:[^'\s]+)'")


def parse_line(line: str) -> AuthFailure | None:
    """Return the record for one log line, or None when the line is not readable."""
    match = _LINE.match(line)
    if match is None:
        return None
    try:
        time = datetime.fromisoformat(match["ts"].replace(" ", "T")).replace(tzinfo=UTC)
    except ValueError:
        return None
    frac = match["frac"]
    if frac:
        time = time.replace(microsecond=int(frac.ljust(6, "0")))
    reason = " ".join(match["reason"].split()) if "\n" in match["reason"] else match["reason"]
    raw_reason = match["reason"]
    user_match = (
        _QUOTED_USER.search(raw_reason)
        or _QUOTED_USER_AT_END.search(raw_reason)
        or _BARE_USER.search(raw_reason)
    )
    caller = _CALLER.search(reason)
    status = match["status"]
    return AuthFailure(
        time=time,
        level=match["level"].upper(),
        user=user_match["user"] if user_match else "",
        reason=reason,
        status=int(status) if status else None,
        code=match["code"],
        caller_arn=caller["arn"] if caller else None,
    )


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
    if len(line) < 40 or line[19] != "," or line[23:25] != " [" or line[-1] != ")" or "\n" in line:
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
    start = reason.find("for user '")
    if start < 0:
        return None
    end = max(reason.rfind("' because ", start + 10), reason.rfind("' due to ", start + 10))
    if end < 0:
        # Wording of codes not known today may end right after the name, as parse_line allows.
        end = len(reason) - (2 if reason[-1:] in (".", ",", ";", ":") else 1)
        if end < start + 10 or reason[end] != "'":
            return None
    caller = None
    if "caller '" in reason:
        found = _CALLER.search(reason)
        caller = found["arn"] if found else None
    return line[:23], reason[start + 10 : end], code, caller


def stamp_time(stamp: str) -> datetime:
    """The UTC time of a fast_fields time text."""
    return datetime.fromisoformat(stamp[:19]).replace(
        tzinfo=UTC, microsecond=int(stamp[20:23]) * 1000
    )
