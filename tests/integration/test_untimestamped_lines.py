"""Lines with no timestamp of their own (the shape AWS's IAM DB auth troubleshooting table prints)
are counted through moto's FilterLogEvents, with each CloudWatch event's own time."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from typing import Any

from bot.adapters.aws.clients import AwsClients
from bot.domain.cluster import iam_log_group
from bot.domain.window import Window
from bot.sandbox.seed_aws import Failure, create_cluster, format_line, put_lines
from bot.services.queries import read_log_summary
from tests.conftest import run_iamauth

EXPIRED = (
    "[ERROR] Failed to authenticate the connection request for user db_user because the token age "
    "is longer than 15 minutes. (Status Code: 400, Error Code:ExpiredToken)"
)
REFUSED = (
    "[ERROR] Failed to authorize the connection request for user etl because the IAM policy "
    "assumed by the caller 'arn:aws:sts::123456789012:assumed-role/etl/i-1' is not authorized to "
    "perform rds-db:connect on the DB instance. (Status Code:403, Error Code:NotAuthorized)"
)
UNKNOWN = "[ERROR] Something AWS has not documented yet"


def iso_ms(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_failures_json_counts_lines_without_a_timestamp_at_their_events_time(
    moto_endpoint: str, aws: AwsClients, now: datetime
) -> None:
    create_cluster(aws.rds(), "bare-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    first = now - timedelta(minutes=40, milliseconds=-123)
    last = now - timedelta(minutes=5, milliseconds=-456)
    put_lines(
        aws.logs(),
        iam_log_group("bare-db"),
        "bare-db-1",
        [
            (first, EXPIRED),
            (now - timedelta(minutes=30), EXPIRED),
            (now - timedelta(minutes=20), UNKNOWN),
            # A whole line in the same page keeps its own time.
            (
                now - timedelta(minutes=15),
                format_line(Failure(now - timedelta(minutes=15), "app", "InvalidToken")),
            ),
            (last, REFUSED),
        ],
    )
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_endpoint, "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("IAMAUTH_CONFIG", None)
    result = run_iamauth(env, "failures", "bare-db", "--since", "1h", "--json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    assert data["total"] == 4
    assert data["by_code"] == {"ExpiredToken": 2, "InvalidToken": 1, "NotAuthorized": 1}
    assert data["by_user"] == {"db_user": 2, "app": 1, "etl": 1}
    assert data["by_caller"] == {"arn:aws:sts::123456789012:assumed-role/etl/i-1": 1}
    assert data["unparsed"] == 1  # kept and counted, never dropped
    assert (data["first_seen"], data["last_seen"]) == (iso_ms(first), iso_ms(last))


def test_a_full_page_without_timestamps_is_counted_at_the_events_times(
    aws: AwsClients, now: datetime
) -> None:
    """Over 64 events a page is counted in bulk: the same counts, times and samples."""
    times = [now - timedelta(minutes=50) + timedelta(seconds=7 * i) for i in range(300)]
    lines = [(t, UNKNOWN if i % 100 == 0 else EXPIRED) for i, t in enumerate(times)]
    put_lines(aws.logs(), iam_log_group("busy-db"), "busy-db-1", lines)
    summary = read_log_summary(
        aws, "busy-db", Window(now - timedelta(hours=1), now), 10_000, keep_events=True
    )
    assert summary is not None
    assert (summary.total, summary.unparsed) == (297, 3)
    assert summary.unparsed_samples == [UNKNOWN] * 3
    assert dict(summary.by_code) == {"ExpiredToken": 297}
    assert (summary.first_seen, summary.last_seen) == (times[0], times[-1])
    assert summary.events is not None
    assert [e.ms for e in summary.events] == [
        int(t.timestamp() * 1000) for i, t in enumerate(times) if i % 100
    ]


def test_over_the_cap_the_newest_lines_without_timestamps_keep_their_events_times(
    aws: AwsClients, now: datetime
) -> None:
    times = [now - timedelta(minutes=50) + timedelta(seconds=7 * i) for i in range(300)]
    put_lines(aws.logs(), iam_log_group("wide-db"), "wide-db-1", [(t, EXPIRED) for t in times])
    summary = read_log_summary(aws, "wide-db", Window(now - timedelta(hours=1), now), 100)
    assert summary is not None
    assert summary.truncated
    assert summary.covered_from is not None
    assert (summary.total, summary.unparsed) == (100, 0)
    # The newest events are read (to the minute: see read_newest), each at its own event's time.
    assert summary.last_seen == times[-1]
    assert summary.first_seen in times
    assert summary.first_seen >= summary.covered_from
