"""Who failed from where: the `postgresql` log read for the window of a failures answer and
matched to its `iam-db-auth-error` failures (bot/domain/correlate.py does the matching)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.cloudwatch_logs import read_window
from bot.adapters.aws.db_parameters import read_log_format
from bot.adapters.aws.errors import AccessDenied, LogGroupMissing
from bot.domain.cluster import POSTGRESQL_EXPORT, ClusterInfo, postgresql_log_group
from bot.domain.correlate import TOLERANCE_MS, Correlation, correlate
from bot.domain.log_line_prefix import LogFormat, line_reader
from bot.domain.pam import PAM_FILTER_PATTERN, WHOLE_SECOND_MS, PamLines
from bot.domain.summary import FailureSummary
from bot.domain.window import Window

# PAM lines this far outside the window can still match a failure at its edge.
_EDGE = timedelta(milliseconds=TOLERANCE_MS + WHOLE_SECOND_MS)


class NoClients(enum.StrEnum):
    """Why there is no answer to "from where"."""

    IAM_LOG_OFF = "iam-log-off"  # no failures to match
    POSTGRESQL_EXPORT_OFF = "postgresql-export-off"
    POSTGRESQL_GROUP_MISSING = "postgresql-group-missing"
    POSTGRESQL_ACCESS_DENIED = "postgresql-access-denied"  # the IAM policy predates this feature


@dataclass(frozen=True)
class ClientsAnswer:
    group: str
    correlation: Correlation | None = None  # None when `missing` says why
    missing: NoClients | None = None
    unreadable: int = 0  # lines naming a PAM failure whose prefix could not be read
    unreadable_sample: str | None = None
    truncated: bool = False  # the PAM read hit the event cap: it covers only the newest lines
    covered_from: datetime | None = None
    log_format: LogFormat | None = None  # how the postgresql log was read
    log_format_source: str = ""  # where that came from: parameter groups, or the default and why


def who_failed_from_where(
    aws: AwsClients, info: ClusterInfo, window: Window, summary: FailureSummary | None, cap: int
) -> ClientsAnswer:
    """Match `summary.events` (collected while the iam log was read) to the PAM failure lines of
    the same stretch of time. At most `cap` PAM lines are read; past that, the newest."""
    group = postgresql_log_group(info.identifier)
    if summary is None or summary.events is None:
        return ClientsAnswer(group, missing=NoClients.IAM_LOG_OFF)
    if POSTGRESQL_EXPORT not in info.log_exports:
        return ClientsAnswer(group, missing=NoClients.POSTGRESQL_EXPORT_OFF)
    # A truncated iam read covers only its newest part; PAM lines before that would match nothing.
    start = summary.covered_from or window.start
    found_format = read_log_format(aws.rds(), info.identifier)
    reader = line_reader(found_format.log_format)
    try:
        read = read_window(
            aws.logs(),
            group,
            Window(start - _EDGE, window.end + _EDGE),
            cap,
            lambda: PamLines(reader=reader),
            PAM_FILTER_PATTERN,
        )
    except LogGroupMissing:
        return ClientsAnswer(group, missing=NoClients.POSTGRESQL_GROUP_MISSING)
    except AccessDenied:
        # The failures themselves were read: say what is missing instead of failing the answer.
        return ClientsAnswer(group, missing=NoClients.POSTGRESQL_ACCESS_DENIED)
    lines = read.sink
    correlation = correlate(
        summary.events,
        lines.failures,
        counted_from_ms=_epoch_ms(start),
        counted_to_ms=_epoch_ms(window.end),
    )
    return ClientsAnswer(
        group,
        correlation,
        unreadable=lines.unreadable,
        unreadable_sample=lines.unreadable_samples[0] if lines.unreadable_samples else None,
        truncated=read.truncated,
        covered_from=read.covered_from,
        log_format=found_format.log_format,
        log_format_source=found_format.source,
    )


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
