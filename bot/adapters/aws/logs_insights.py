"""CloudWatch Logs Insights: run one query over one log group and window, and wait for its rows.

StartQuery schedules the query and returns its id; GetQueryResults is polled until the status is
final (`Complete`, or `Failed`, `Cancelled`, `Timeout`); `Scheduled`, `Running` and `Unknown` mean
"not yet". A query we give up on (past our deadline, or abandoned because another slice failed)
is stopped with StopQuery: queries in flight count against the account's concurrency limit (30
in StartQuery's API reference, 100 in the console guide), and AWS lets one run up to 60 minutes.

The client is the one AwsClients builds (retries, timeouts, and any hook registered on it, such
as a request budget shared between processes).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.adapters.aws.errors import (
    ACCESS_DENIED_CODES,
    BOTOCORE_ERRORS,
    AccessDenied,
    AwsError,
    LogGroupMissing,
    Throttled,
    aws_error,
    error_code,
)
from bot.domain.insights_query import MAX_ROWS, Row, query_seconds
from bot.domain.window import Window

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

RUNNING = frozenset({"Scheduled", "Running", "Unknown"})
FAILED = frozenset({"Failed", "Cancelled", "Timeout"})
FIRST_POLL_SECONDS = 0.5
LONGEST_POLL_SECONDS = 5.0


class InsightsFailed(AwsError):
    """Logs Insights ended the query without a result (Failed, Cancelled, Timeout)."""


class InsightsTimedOut(AwsError):
    """The query did not complete before our deadline; it was stopped."""


class InsightsAbandoned(AwsError):
    """Another part of the same count failed: this query was stopped."""


@dataclass(frozen=True)
class QueryResult:
    rows: list[Row]
    records_matched: float = 0.0
    bytes_scanned: float = 0.0


@dataclass
class Polling:
    """When to give up (a `clock()` value), how to wait, and a flag to abandon the query."""

    give_up_at: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    abandon: threading.Event = field(default_factory=threading.Event)


def run_query(
    client: CloudWatchLogsClient,
    group: str,
    window: Window,
    query: str,
    polling: Polling,
    limit: int = MAX_ROWS,
) -> QueryResult:
    """The rows of `query` over `group` in `window`. Raises LogGroupMissing, AccessDenied,
    Throttled (too many queries in flight), InsightsFailed, InsightsTimedOut, InsightsAbandoned."""
    start, end = query_seconds(window)
    try:
        started = client.start_query(
            logGroupName=group, startTime=start, endTime=end, queryString=query, limit=limit
        )
    except BOTOCORE_ERRORS as error:
        raise _translate(error, group, "logs:StartQuery") from None
    query_id = started["queryId"]
    try:
        return _wait(client, query_id, polling)
    except BaseException:
        _stop(client, query_id)
        raise


def _wait(client: CloudWatchLogsClient, query_id: str, polling: Polling) -> QueryResult:
    pause = FIRST_POLL_SECONDS
    while True:
        try:
            answer = client.get_query_results(queryId=query_id)
        except BOTOCORE_ERRORS as error:
            raise _translate(error, "", "logs:GetQueryResults") from None
        status = answer.get("status", "Unknown")
        if status == "Complete":
            stats = answer.get("statistics", {})
            rows: Sequence[Row] = answer.get("results", [])  # type: ignore[assignment]
            return QueryResult(
                list(rows), stats.get("recordsMatched", 0.0), stats.get("bytesScanned", 0.0)
            )
        if status in FAILED:
            raise InsightsFailed(f"CloudWatch Logs Insights ended the query: {status}.")
        if polling.abandon.is_set():
            raise InsightsAbandoned("The Logs Insights query was stopped.")
        left = polling.give_up_at - polling.clock()
        if left <= 0:
            raise InsightsTimedOut(
                "CloudWatch Logs Insights did not finish counting in time; the query was stopped."
            )
        polling.sleep(min(pause, left))
        pause = min(pause * 2, LONGEST_POLL_SECONDS)


def _stop(client: CloudWatchLogsClient, query_id: str) -> None:
    """Stop a query we no longer wait for; one already finished cannot be stopped (fine)."""
    with contextlib.suppress(*BOTOCORE_ERRORS):
        client.stop_query(queryId=query_id)


def _translate(error: Exception, group: str, action: str) -> AwsError:
    code = error_code(error)
    if code == "ResourceNotFoundException" and group:
        return LogGroupMissing(f"The log group `{group}` does not exist.")
    if code in ACCESS_DENIED_CODES:
        where = f" on `{group}`" if group else ""
        return AccessDenied(
            f"The bot may not call {action}{where}: add logs:StartQuery, logs:GetQueryResults "
            "and logs:StopQuery to its IAM policy (docs/iam-policy.json)."
        )
    if code == "LimitExceededException":
        # StartQuery's answer when the account already runs as many queries as it may.
        return Throttled(
            "CloudWatch Logs Insights already runs as many queries as this account allows; try "
            "again in a minute."
        )
    return aws_error(error, "CloudWatch Logs Insights", action)
