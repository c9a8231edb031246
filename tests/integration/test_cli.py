"""`iamauth failures|metrics` as a user runs them: a real process against moto's server."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.aws.clients import AwsClients
from bot.seed import Failure, create_cluster, put_failures, put_metrics
from tests.conftest import run_iamauth


def iamauth(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("IAMAUTH_CONFIG", None)
    return run_iamauth(env, *args)


@pytest.fixture
def seeded(aws: AwsClients, now: datetime) -> None:
    create_cluster(aws.rds(), "prod-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    failures = [
        Failure(now - timedelta(minutes=30), "app", "ExpiredToken"),
        Failure(now - timedelta(minutes=20), "app", "InvalidToken"),
        Failure(now - timedelta(minutes=10), "etl", "NotAuthorized"),
    ]
    put_failures(aws.logs(), "prod-db", failures)
    put_metrics(aws.cloudwatch(), "prod-db", failures, 2, now - timedelta(hours=2), now)
    create_cluster(aws.rds(), "orders-db", iam=True, exports=[], instances=1)


def test_failures_json(moto_endpoint: str, seeded: None) -> None:
    result = iamauth(moto_endpoint, "failures", "prod-db", "--since", "1h", "--json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    assert set(data) == {
        "cluster", "start", "end", "total", "by_code", "by_family", "by_user",
        "unparsed", "truncated", "first_seen", "last_seen",
    }  # fmt: skip
    assert data["cluster"] == "prod-db"
    assert data["total"] == 3
    assert data["by_code"] == {"ExpiredToken": 1, "InvalidToken": 1, "NotAuthorized": 1}
    assert data["by_family"] == {"InvalidToken": 2, "InsufficientPermissions": 1}
    assert data["by_user"] == {"app": 2, "etl": 1}
    assert data["unparsed"] == 0
    assert data["truncated"] is False
    start, end = datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"])
    assert end - start == timedelta(hours=1)
    assert data["first_seen"].endswith("Z")
    assert datetime.fromisoformat(data["first_seen"]) < datetime.fromisoformat(data["last_seen"])


def test_failures_text_shows_the_same_numbers(moto_endpoint: str, seeded: None) -> None:
    result = iamauth(moto_endpoint, "failures", "prod-db")
    assert result.returncode == 0, result.stderr
    assert "3 failed IAM authentications" in result.stdout
    assert "`app`: *2*" in result.stdout


def test_metrics_json(moto_endpoint: str, seeded: None) -> None:
    result = iamauth(moto_endpoint, "metrics", "prod-db", "--since", "1h", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["period"] == 60
    assert data["dimension"] == "DBClusterIdentifier"
    metrics = data["metrics"]
    assert len(metrics) == 7
    assert metrics["IamDbAuthConnectionFailure"]["sum"] == 3
    assert metrics["IamDbAuthConnectionFailureInvalidToken"]["sum"] == 2
    # 2 successes a minute for every seeded minute in the window (59 or 60 of them, depending on
    # whether the clock passed a minute boundary since seeding) plus the 3 failures.
    requests = metrics["IamDbAuthConnectionRequests"]
    minutes = len([v for v in requests["values"] if v])
    assert minutes in (59, 60)
    assert requests["sum"] == 2 * minutes + 3
    series = metrics["IamDbAuthConnectionFailureInsufficientPermissions"]
    # The seed writes a point every minute, zeros included.
    assert len(series["values"]) == len(series["timestamps"]) == minutes
    assert [v for v in series["values"] if v] == [1.0]


@pytest.mark.parametrize(
    ("args", "code", "reason"),
    [
        (("failures", "ghost-db"), 3, "There is no cluster ghost-db"),
        (("failures", "orders-db"), 3, "log export is off for orders-db"),
        (("metrics", "Bad_Name"), 2, "is not an RDS cluster identifier"),
        (("failures", "prod-db", "--since", "2w"), 2, "is not a window"),
    ],
)
def test_problems_exit_non_zero_with_one_line(
    moto_endpoint: str, seeded: None, args: tuple[str, ...], code: int, reason: str
) -> None:
    result = iamauth(moto_endpoint, *args)
    assert result.returncode == code
    assert reason in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
