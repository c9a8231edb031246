"""The MySQL / MariaDB `error` log that goes with seeded `iam-db-auth-error` failures (demo, tests).

For each failed IAM login the engine writes one `Access denied for user 'u'@'host'` line, in the
format of its flavour (bot/domain/mysql_error_log.py has the three), a moment before or after the
iam line, when its setting logs refused logins (`log_error_verbosity` = 3, `log_warnings` >= 2).
The host is all the line tells: each service connects from its own few addresses, as in the
postgresql seed, so "who failed from where" has a real answer to find.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from bot.domain.cluster import MYSQL_ERROR_EXPORT, Kind, log_group
from bot.sandbox.seed_aws import Failure, put_lines
from bot.sandbox.seed_postgresql_log import OTHER_CLIENTS, SERVICE_CLIENTS

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

Flavour = Literal["mysql8", "mysql57", "mariadb"]


def denied_line(
    moment: datetime,
    user: str,
    host: str,
    flavour: Flavour = "mysql8",
    *,
    thread: int = 18,
    password: bool | None = True,
) -> str:
    """One refused login as the engine writes it; `password` None: no `(using password: …)`."""
    stamp = moment.astimezone(UTC)
    clause = "" if password is None else f" (using password: {'YES' if password else 'NO'})"
    message = f"Access denied for user '{user}'@'{host}'{clause}"
    if flavour == "mariadb":  # whole seconds, no zone, the hour padded with a space
        return f"{stamp:%Y-%m-%d} {stamp.hour:2d}:{stamp:%M:%S} {thread} [Warning] {message}"
    iso = f"{stamp:%Y-%m-%dT%H:%M:%S}.{stamp.microsecond:06d}Z"
    if flavour == "mysql57":
        return f"{iso} {thread} [Note] {message}"
    code = "MY-010925" if password is None else "MY-010926"
    return f"{iso} {thread} [Note] [{code}] [Server] {message}"


def engine_moment(moment: datetime, flavour: Flavour) -> datetime:
    """The time the line carries: MariaDB's whole second, MySQL's microsecond."""
    return moment.replace(microsecond=0) if flavour == "mariadb" else moment


def noise_lines(moment: datetime, flavour: Flavour) -> list[str]:
    """Lines of the same log that are no refused login (one names `Access denied` all the same)."""
    moment = moment.astimezone(UTC)
    if flavour == "mariadb":
        stamp = f"{moment:%Y-%m-%d} {moment.hour:2d}:{moment:%M:%S}"
        return [
            f"{stamp} 0 [Note] InnoDB: Buffer pool(s) load completed",
            f"{stamp} 41 [Warning] Aborted connection 41 to db: 'app' user: 'app_user' host: "
            "'10.0.1.67' (Got an error reading communication packets)",
            f"{stamp} 42 [Warning] Access denied for user 'app_user'@'%' to database 'billing'",
        ]
    iso = f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}Z"
    return [
        f"{iso} 0 [Warning] [MY-010068] [Server] CA certificate ca.pem is self signed.",
        f"{iso} 41 [Note] [MY-010914] [Server] Aborted connection 41 to db: 'app' user: "
        "'app_user' host: '10.0.1.67' (Got an error reading communication packets).",
        f"{iso} 7 [ERROR] [MY-010584] [Repl] Replica I/O for channel '': error connecting to "
        "source 'repl@10.0.0.2:3306' - retry-time: 60 retries: 1 message: Access denied for "
        "user 'repl'@'10.0.0.3' (using password: YES), Error_code: MY-001045",
    ]


def put_error_lines(
    logs: CloudWatchLogsClient,
    identifier: str,
    stream: str,
    lines: Sequence[tuple[datetime, str]],
    kind: Kind = "cluster",
) -> None:
    put_lines(logs, log_group(identifier, MYSQL_ERROR_EXPORT, kind), stream, lines)


def put_error_log_failures(
    logs: CloudWatchLogsClient,
    identifier: str,
    failures: Sequence[Failure],
    rng: random.Random,
    *,
    flavour: Flavour = "mysql8",
    kind: Kind = "cluster",
    streams: int = 2,
    without_line: float = 0.04,
    noise_per_failure: float = 0.2,
) -> None:
    """`Access denied` lines for the failures (a few get none), with unrelated lines in between,
    spread over per-instance streams like put_failures."""
    thread = 3_000
    for n in range(streams):
        lines: list[tuple[datetime, str]] = []
        for failure in failures[n::streams]:
            if rng.random() < without_line:
                continue
            addresses, _ = SERVICE_CLIENTS.get(failure.user, OTHER_CLIENTS)
            thread += rng.randint(1, 9)
            moment = engine_moment(
                failure.time + timedelta(seconds=rng.uniform(-0.3, 0.3)), flavour
            )
            line = denied_line(moment, failure.user, rng.choice(addresses), flavour, thread=thread)
            lines.append((moment, line))
            if rng.random() < noise_per_failure:
                lines.append((moment, rng.choice(noise_lines(moment, flavour))))
        put_error_lines(logs, identifier, f"{identifier}-{n + 1}", lines, kind)
