"""Read failed logins from a MySQL, Aurora MySQL or MariaDB error log (the `error` export).

What each engine writes for a refused login (the server's `login_failed_error`, called whatever
the authentication plugin refused: by the engines' source an AWSAuthenticationPlugin refusal too,
which AWS does not document and which is not verified on RDS here):

    MySQL 8.0, Aurora MySQL 3:  2026-10-02T08:44:19.951075Z 18 [Note] [MY-010926] [Server] Access denied for user 'app'@'10.0.1.67' (using password: YES)
    MySQL 5.7, Aurora MySQL 2:  2017-09-13T09:58:10.190364Z 9 [Note] Access denied for user 'app'@'10.0.1.67' (using password: YES)
    MariaDB 10.x:               2026-10-02  9:26:33 31 [Warning] Access denied for user 'app'@'10.0.1.67' (using password: YES)

MySQL writes it at INFORMATION level (a Note), so only when `log_error_verbosity` = 3 (MySQL 8.0's
default is 2; 5.7's was 3); MY-010925 is the same message without the password clause. MariaDB
writes it as a Warning when `log_warnings` >= 2 (its default since 10.2.4). The time is UTC with
microseconds and a `Z` in MySQL (`log_timestamps`=UTC; SYSTEM writes an offset instead); MariaDB
writes whole seconds, no zone (RDS hosts run in UTC), the hour padded with a space. The thread id
is the connection's. There is no client port, no database and no pid: the host (an address, or a
resolved name) is all the line tells of where the client was.

The server does not escape the user name: it may hold `'`, `@` and even `'@'`. The host cannot
hold `'@'`, so the identity is split at its *last* `'@'`, and read from the line's fixed end
(`' (using password: YES)` or a closing `'`). Every step is an anchored possessive pattern or a
str method: linear in the line, which is capped at MAX_LINE besides. `classify` never raises.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.domain.parse import epoch_second

ACCESS_DENIED = "Access denied for user"
# CloudWatch Logs filter pattern: a quoted term matches that exact phrase.
FILTER_PATTERN = f'"{ACCESS_DENIED}"'
_MESSAGE = f"{ACCESS_DENIED} '"
# MySQL 8's error codes of a refused login: with the password clause, and without it.
LOGIN_CODES = frozenset({"MY-010926", "MY-010925"})
_PASSWORD_CLAUSES = {"' (using password: YES)": True, "' (using password: NO)": False}
# Neither names the database: a line saying so is ER_DBACCESS_DENIED (a logged-in user refused a
# database), not a failed login.
_TO_DATABASE = "' to database '"
WHOLE_SECOND_MS = 1000
MAX_LINE = 2_000  # user names are at most 80 characters, host names 255
UNREADABLE_SAMPLES = 3

_PREFIX = re.compile(
    r"""\s*+(?P<date>\d{4}-\d{2}-\d{2})
    (?:
        T(?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,9}+))?(?P<zone>Z|[+-]\d{2}:?\d{2})
      | \ (?P<hour>[\ \d]\d):(?P<minute>\d{2}):(?P<second>\d{2})
    )
    \ ++(?P<thread>\d{1,20}+)
    \ ++\[(?P<label>[A-Za-z]{1,12}+)\]
    (?:\ ++\[(?P<code>MY-\d{6})\]\ ++\[(?P<subsystem>[A-Za-z]{1,20}+)\])?
    \ ++""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class DeniedLogin:
    """One refused login as the error log records it."""

    ms: int  # epoch milliseconds (the start of its second when whole seconds)
    precision_ms: int  # 1 for MySQL's microseconds, 1000 for MariaDB's whole seconds
    user: str
    client: str  # the host as the server wrote it: an address, a resolved name, `localhost`
    thread: int  # the connection id
    used_password: bool | None  # None: the line has no `(using password: …)` clause

    @property
    def database(self) -> str:
        """The error log does not name one."""
        return ""


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A line naming `Access denied for user` that cannot be read as a refused login."""

    line: str


def classify(line: str) -> DeniedLogin | Unreadable | None:
    """The refused login on `line`; Unreadable when it names one but cannot be read; None for
    every other line (startup notes, ER_DBACCESS_DENIED, a replication error quoting one)."""
    if ACCESS_DENIED not in line:
        return None
    if len(line) > MAX_LINE:
        return Unreadable(line)
    head = _PREFIX.match(line)
    if head is None:
        return Unreadable(line)
    code = head["code"]
    if (code is not None and code not in LOGIN_CODES) or not line.startswith(_MESSAGE, head.end()):
        return None
    ms = _epoch_ms(head)
    end = len(line.rstrip())
    identity_end, used_password = _identity_end(line, end)
    if ms is None or identity_end < 0:
        return Unreadable(line)
    identity = line[head.end() + len(_MESSAGE) : identity_end]
    split = identity.rfind("'@'")
    if split < 0:
        return Unreadable(line)
    user, host = identity[:split], identity[split + 3 :]
    if used_password is None and code is None and _TO_DATABASE in identity:
        return None  # MariaDB's and 5.7's "… to database 'x'": no code tells them apart
    if "'" in host or any(c.isspace() for c in host):
        return Unreadable(line)
    return DeniedLogin(
        ms=ms,
        precision_ms=1 if head["time"] else WHOLE_SECOND_MS,
        user=user,
        client=host,
        thread=int(head["thread"]),
        used_password=used_password,
    )


def _identity_end(line: str, end: int) -> tuple[int, bool | None]:
    """Where `user'@'host` ends (at its closing quote), and the password clause's answer; -1 when
    the line ends neither with a clause nor with a quote."""
    for clause, used in _PASSWORD_CLAUSES.items():
        if line.endswith(clause, 0, end):
            return end - len(clause), used
    return (end - 1, None) if line[end - 1 : end] == "'" else (-1, None)


def _epoch_ms(head: re.Match[str]) -> int | None:
    if head["time"]:
        seconds = epoch_second(f"{head['date']}T{head['time']}")
        offset = _zone_offset_s(head["zone"])
        if seconds is None or offset is None:
            return None
        frac = head["frac"] or ""
        return (seconds - offset) * 1000 + int(frac[:3].ljust(3, "0"))
    stamp = f"{head['date']} {int(head['hour']):02d}:{head['minute']}:{head['second']}"
    seconds = epoch_second(stamp)
    return None if seconds is None else seconds * 1000


def _zone_offset_s(zone: str) -> int | None:
    """Seconds east of UTC for `Z`, `+02:00` or `-0530`; None if not a real offset."""
    if zone == "Z":
        return 0
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 14 or minutes > 59:
        return None
    return (-1 if zone[0] == "-" else 1) * (hours * 3600 + minutes * 60)


@dataclass
class DeniedLogins:
    """What a read of the error log found: the refused logins, and counts of the rest."""

    logins: list[DeniedLogin] = field(default_factory=list)
    unreadable: int = 0
    unreadable_samples: list[str] = field(default_factory=list)
    other: int = 0

    def add_lines(self, lines: Sequence[str]) -> None:
        for line in lines:
            found = classify(line)
            if isinstance(found, DeniedLogin):
                self.logins.append(found)
            elif isinstance(found, Unreadable):
                self.unreadable += 1
                if len(self.unreadable_samples) < UNREADABLE_SAMPLES:
                    self.unreadable_samples.append(line[:500])
            else:
                self.other += 1


@dataclass(frozen=True)
class LoginLogging:
    """The engine parameter that decides whether refused logins reach the error log."""

    parameter: str
    needed: int  # the lowest value that logs them
    default: int  # the engine's default when the parameter groups set no value
    default_note: str  # which versions that default is for

    def logs_them(self, value: str | None) -> bool | None:
        """Whether `value` (None: the engine default) logs refused logins; None if unreadable."""
        if value is None:
            return self.default >= self.needed
        try:
            return int(value.strip()) >= self.needed
        except ValueError:
            return None


MYSQL_LOGGING = LoginLogging("log_error_verbosity", 3, 2, "MySQL 8.0 and Aurora MySQL 3; 5.7: 3")
MARIADB_LOGGING = LoginLogging("log_warnings", 2, 2, "MariaDB 10.2.4 and later")


def login_logging(engine: str) -> LoginLogging:
    """`log_warnings` for MariaDB, `log_error_verbosity` for MySQL and Aurora MySQL."""
    return MARIADB_LOGGING if "mariadb" in engine else MYSQL_LOGGING
