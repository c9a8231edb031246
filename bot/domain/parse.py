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
# Greedy up to the last "' because" / "' due to": a user name may itself contain quotes.
_QUOTED_USER = re.compile(r"for user '(?P<user>.*)'\s+(?:because|due to)\b", re.DOTALL)
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
