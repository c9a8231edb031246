"""Who failed from where: the engine's log read for the window of a failures answer and matched to
its `iam-db-auth-error` failures (bot/domain/correlate.py does the matching).

PostgreSQL engines: the `postgresql` log's `PAM authentication failed` lines (client address and
port, database, pid). MySQL and MariaDB engines: the `error` log's `Access denied for user` lines,
which give the host only, and only at the engine setting that logs them (bot/domain/mysql_error_log).
"""

from __future__ import annotations

import dataclasses
import enum
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.cloudwatch_logs import Sink, WindowRead, read_window
from bot.adapters.aws.db_parameters import read_log_format, read_parameter
from bot.adapters.aws.errors import AccessDenied, AwsError, LogGroupMissing
from bot.adapters.aws.network_interfaces import workloads_of
from bot.domain.cluster import CLUSTER, POSTGRESQL_EXPORT, ClusterInfo, Kind, log_group
from bot.domain.correlate import TOLERANCE_MS, Correlation, EngineFailure, correlate
from bot.domain.log_line_prefix import LogFormat, line_reader
from bot.domain.mysql_error_log import FILTER_PATTERN, DeniedLogins, LoginLogging, login_logging
from bot.domain.pam import PAM_FILTER_PATTERN, WHOLE_SECOND_MS, PamLines
from bot.domain.summary import FailureSummary
from bot.domain.window import Window
from bot.domain.workloads import Workload

# Distinct client addresses looked up per answer (the most frequent first): a few EC2 calls.
MAX_WORKLOAD_ADDRESSES = 50

# Engine lines this far outside the window can still match a failure at its edge.
_EDGE = timedelta(milliseconds=TOLERANCE_MS + WHOLE_SECOND_MS)


class NoClients(enum.StrEnum):
    """Why there is no answer to "from where"."""

    IAM_LOG_OFF = "iam-log-off"  # no failures to match
    POSTGRESQL_EXPORT_OFF = "postgresql-export-off"
    POSTGRESQL_GROUP_MISSING = "postgresql-group-missing"
    POSTGRESQL_ACCESS_DENIED = "postgresql-access-denied"  # the IAM policy predates this feature
    ERROR_EXPORT_OFF = "error-export-off"  # MySQL/MariaDB: the `error` export
    ERROR_GROUP_MISSING = "error-group-missing"
    ERROR_ACCESS_DENIED = "error-access-denied"
    # MySQL/MariaDB: no refused login in the error log, and the engine setting does not log them.
    FAILED_LOGINS_NOT_LOGGED = "failed-logins-not-logged"


@dataclass(frozen=True)
class LoginLoggingRead:
    """MySQL/MariaDB: the setting that decides whether refused logins are logged, as found."""

    logging: LoginLogging
    value: str | None  # None: no parameter group sets it (the engine default), or unreadable
    logs_them: bool | None  # None: unknown (the groups could not be read, or an odd value)
    source: str


@dataclass(frozen=True)
class ClientsAnswer:
    group: str
    correlation: Correlation | None = None  # None when `missing` says why
    missing: NoClients | None = None
    unreadable: int = 0  # lines naming a refused login that could not be read
    unreadable_sample: str | None = None
    truncated: bool = False  # the read hit the event cap: it covers only the newest lines
    covered_from: datetime | None = None
    log_format: LogFormat | None = None  # how the postgresql log was read
    log_format_source: str = ""  # where that came from: parameter groups, or the default and why
    export: str = POSTGRESQL_EXPORT  # the engine log read: `postgresql`, or `error`
    login_logging: LoginLoggingRead | None = None  # MySQL/MariaDB only
    kind: Kind = CLUSTER  # an Aurora cluster or a DB instance: which CLI command changes it
    # What the client addresses are (bot/domain/workloads.py): looked-up address → workload.
    workloads: Mapping[str, Workload] = field(default_factory=dict)
    workloads_denied: str = ""  # the EC2 action the bot may not call, if one was refused
    workloads_error: str = ""  # why the lookup failed otherwise

    def client_totals(self) -> list[tuple[str, int]]:
        """The shown client addresses with their matched failures over all groups, most first."""
        totals: Counter[str] = Counter()
        for group in self.correlation.groups if self.correlation else []:
            totals.update(dict(group.clients))
        return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))

    @property
    def host_only(self) -> bool:
        """The engine log gives the client's host only: no port, database or pid."""
        return self.export != POSTGRESQL_EXPORT


def who_failed_from_where(
    aws: AwsClients, info: ClusterInfo, window: Window, summary: FailureSummary | None, cap: int
) -> ClientsAnswer:
    """Match `summary.events` (collected while the iam log was read) to the PAM failure lines of
    the same stretch of time in the engine's log. At most `cap` engine lines are read; past that,
    the newest."""
    export = info.engine_log_export
    group = log_group(info.identifier, export, info.kind)
    export_off = (
        NoClients.POSTGRESQL_EXPORT_OFF
        if export == POSTGRESQL_EXPORT
        else NoClients.ERROR_EXPORT_OFF
    )
    if summary is None or summary.events is None:
        return ClientsAnswer(group, missing=NoClients.IAM_LOG_OFF, export=export, kind=info.kind)
    if export not in info.log_exports:
        return ClientsAnswer(group, missing=export_off, export=export, kind=info.kind)
    if export != POSTGRESQL_EXPORT:
        return _from_error_log(aws, info, group, window, summary, cap)
    found_format = read_log_format(aws.rds(), info.identifier)
    reader = line_reader(found_format.log_format)
    try:
        read, start = _read_engine_log(
            aws, group, window, summary, cap, lambda: PamLines(reader=reader), PAM_FILTER_PATTERN
        )
    except LogGroupMissing:
        return ClientsAnswer(group, missing=NoClients.POSTGRESQL_GROUP_MISSING)
    except AccessDenied:
        # The failures themselves were read: say what is missing instead of failing the answer.
        return ClientsAnswer(group, missing=NoClients.POSTGRESQL_ACCESS_DENIED)
    lines = read.sink
    correlation = _matched(summary, lines.failures, start, window)
    return with_workloads(
        aws,
        ClientsAnswer(
            group,
            correlation,
            unreadable=lines.unreadable,
            unreadable_sample=lines.unreadable_samples[0] if lines.unreadable_samples else None,
            truncated=read.truncated,
            covered_from=read.covered_from,
            log_format=found_format.log_format,
            log_format_source=found_format.source,
        ),
    )


def _from_error_log(
    aws: AwsClients,
    info: ClusterInfo,
    group: str,
    window: Window,
    summary: FailureSummary,
    cap: int,
) -> ClientsAnswer:
    """MySQL/MariaDB: the failures matched to the error log's `Access denied for user` lines."""
    base = ClientsAnswer(group, export=info.engine_log_export, kind=info.kind)
    try:
        read, start = _read_engine_log(
            aws, group, window, summary, cap, DeniedLogins, FILTER_PATTERN
        )
    except LogGroupMissing:
        return dataclasses.replace(base, missing=NoClients.ERROR_GROUP_MISSING)
    except AccessDenied:
        return dataclasses.replace(base, missing=NoClients.ERROR_ACCESS_DENIED)
    lines = read.sink
    if not lines.logins and not lines.unreadable:
        # Only now does the setting matter (reading it costs a dozen RDS calls): an empty table
        # would read as "nobody failed", so say what to turn on instead, or what to check.
        setting = _login_logging(aws, info)
        base = dataclasses.replace(base, login_logging=setting)
        if setting.logs_them is not True:
            return dataclasses.replace(base, missing=NoClients.FAILED_LOGINS_NOT_LOGGED)
    correlation = _matched(summary, lines.logins, start, window)
    # The error log names no database: drop the empty one the matching counted.
    groups = [dataclasses.replace(g, databases=[]) for g in correlation.groups]
    answer = dataclasses.replace(
        base,
        correlation=dataclasses.replace(correlation, groups=groups),
        unreadable=lines.unreadable,
        unreadable_sample=lines.unreadable_samples[0] if lines.unreadable_samples else None,
        truncated=read.truncated,
        covered_from=read.covered_from,
    )
    return with_workloads(aws, answer)


def _read_engine_log(
    aws: AwsClients,
    group: str,
    window: Window,
    summary: FailureSummary,
    cap: int,
    new_sink: Callable[[], Sink],
    filter_pattern: str,
) -> tuple[WindowRead[Sink], datetime]:
    """The engine log's lines (into `new_sink()`) of the stretch the iam read covers, a little
    wider at both ends, and where that stretch starts: a truncated iam read covers only its newest
    part, and engine lines before that would match nothing. Raises LogGroupMissing, AccessDenied."""
    start = summary.covered_from or window.start
    edged = Window(start - _EDGE, window.end + _EDGE)
    return read_window(aws.logs(), group, edged, cap, new_sink, filter_pattern), start


def _matched(
    summary: FailureSummary, engine_lines: Sequence[EngineFailure], start: datetime, window: Window
) -> Correlation:
    """The iam failures read matched to the engine's lines, counted from `start` to the end."""
    assert summary.events is not None
    return correlate(
        summary.events,
        engine_lines,
        counted_from_ms=_epoch_ms(start),
        counted_to_ms=_epoch_ms(window.end),
    )


def with_workloads(aws: AwsClients, answer: ClientsAnswer) -> ClientsAnswer:
    """The answer with its most frequent client addresses looked up in the account's VPCs
    (optional permissions: refused or failed, the addresses stay bare and the answer says why)."""
    addresses = [a for a, _ in answer.client_totals()][:MAX_WORKLOAD_ADDRESSES]
    if not addresses:
        return answer
    try:
        lookup = workloads_of(aws.ec2(), addresses)
    except AwsError as error:  # the EC2 client could not be built: the answer stands without
        return dataclasses.replace(answer, workloads_error=str(error))
    return dataclasses.replace(
        answer,
        workloads=lookup.workloads,
        workloads_denied=lookup.denied,
        workloads_error=lookup.error,
    )


def _login_logging(aws: AwsClients, info: ClusterInfo) -> LoginLoggingRead:
    logging = login_logging(info.engine)
    found = read_parameter(aws.rds(), info.identifier, info.kind, logging.parameter)
    logs_them = logging.logs_them(found.value) if found.readable else None
    return LoginLoggingRead(logging, found.value, logs_them, found.source)


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
