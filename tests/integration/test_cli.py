"""`iamauth failures|metrics` as a user runs them: a real process against moto's server."""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.aws.clients import AwsClients
from bot.domain.metrics import FAMILY_METRICS, short_name
from bot.domain.records import Family
from bot.sandbox.seed_aws import Failure, create_cluster, put_failures, put_metrics
from tests.conftest import run_iamauth
from tests.integration.refusing_aws import RefusingAws, closed_port


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
    assert set(data) >= {  # the JSON shapes may gain keys
        "cluster", "start", "end", "total", "by_code", "by_family", "by_user", "by_caller",
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


def test_a_truncated_failures_json_says_from_when_and_what_the_metrics_count(
    moto_endpoint: str, seeded: None, tmp_path: Path, now: datetime
) -> None:
    """An event cap of 2 keeps the 2 newest of the 3 failures: the JSON says the read is partial,
    from when it covers, and carries the metric totals the Slack answer shows beside it."""
    config = tmp_path / "iamauth.toml"
    config.write_text("[limits]\nevent_cap = 2\n")
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "IAMAUTH_CONFIG": str(config),
    }
    result = run_iamauth(env, "failures", "prod-db", "--since", "1h", "--json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    assert data["truncated"] is True
    assert data["total"] == 2
    assert data["by_code"] == {"InvalidToken": 1, "NotAuthorized": 1}
    assert data["covered_from"].endswith("Z")
    covered_from = datetime.fromisoformat(data["covered_from"])
    # The oldest failure (30 min ago) was not read; the two newer ones were.
    assert now - timedelta(minutes=30) < covered_from <= datetime.fromisoformat(data["first_seen"])
    metrics = data["metrics"]
    assert metrics["failures"] == 3  # the metrics count them all
    assert metrics["by_family"] == {
        "InvalidToken": 2,
        "InsufficientPermissions": 1,
        "Throttling": 0,
        "ServerError": 0,
    }
    assert metrics["requests"] > metrics["failures"]
    # The same totals as the Slack answer (the same blocks, in the terminal) shows. The window
    # ends at the current minute, so the text run is taken between two JSON runs that agree:
    # a pair straddling a minute boundary may count different requests and is taken again.
    for _ in range(3):
        text = run_iamauth(env, "failures", "prod-db", "--since", "1h")
        assert text.returncode == 0, text.stderr
        after = run_iamauth(env, "failures", "prod-db", "--since", "1h", "--json")
        if json.loads(after.stdout)["metrics"] == metrics:
            break
        metrics = json.loads(after.stdout)["metrics"]
    else:
        pytest.fail("the metric totals changed in every pair of runs")
    assert f"{metrics['failures']:,} failures of {metrics['requests']:,} requests" in text.stdout
    for family, count in metrics["by_family"].items():
        metric = short_name(FAMILY_METRICS[Family(family)])
        assert re.search(rf"{metric}\s+{count:,}\s", text.stdout), (metric, text.stdout)
    assert "The log part is truncated" in text.stdout


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
        (("failures", "ghost-db"), 3, "There is no Aurora cluster or RDS DB instance ghost-db"),
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


# A newcomer's first minutes: every AWS or setup failure is one line and an exit code -----------

KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
REGION = {"AWS_DEFAULT_REGION": "us-east-1"}


def bare_env(tmp_path: Path, values: dict[str, str]) -> dict[str, str]:
    """A shell with no AWS settings at all (no credentials or config file, no instance metadata
    to wait for), plus `values`."""
    empty = tmp_path / "empty"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop("IAMAUTH_CONFIG", None)
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(empty),
        AWS_CONFIG_FILE=str(empty),
        AWS_EC2_METADATA_DISABLED="true",
    )
    return {**env, **values}


def assert_one_line(result: subprocess.CompletedProcess[str], code: int, words: str) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == code, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert words in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["failures", "metrics"])
@pytest.mark.parametrize(
    ("setting", "code", "words"),
    [
        ("no region", 2, "No AWS region is set"),
        ("no credentials", 2, "No AWS credentials were found"),
        ("unreachable", 3, "Cannot connect to RDS at http://127.0.0.1:"),
    ],
)
def test_a_missing_setting_or_an_unreachable_aws_is_one_line(
    moto_endpoint: str, seeded: None, tmp_path: Path, command: str, setting: str, code: int,
    words: str,
) -> None:  # fmt: skip
    values = {
        "no region": {**KEYS, "AWS_ENDPOINT_URL": moto_endpoint},
        "no credentials": {**REGION, "AWS_ENDPOINT_URL": moto_endpoint},
        "unreachable": {**KEYS, **REGION, "AWS_ENDPOINT_URL": closed_port()},
    }[setting]
    assert_one_line(run_iamauth(bare_env(tmp_path, values), command, "prod-db"), code, words)


@pytest.mark.parametrize(
    ("values", "code", "words"),
    [
        ({"AWS_ACCESS_KEY_ID": "testing", **REGION}, 2, "AWS_SECRET_ACCESS_KEY is missing"),
        ({**KEYS, **REGION, "AWS_PROFILE": "nope"}, 2, "The AWS profile nope does not exist"),
        ({**KEYS, **REGION, "AWS_ENDPOINT_URL": "localhost:4566"}, 2, "AWS_ENDPOINT_URL must be"),
        ({**KEYS, **REGION, "AWS_REGION": "moon 1"}, 2, "moon 1 is not an AWS region name"),
    ],
)
def test_wrong_aws_settings_are_one_line(
    tmp_path: Path, values: dict[str, str], code: int, words: str
) -> None:
    assert_one_line(run_iamauth(bare_env(tmp_path, values), "failures", "prod-db"), code, words)


@pytest.mark.parametrize(
    ("code", "status", "words"),
    [
        ("ExpiredToken", 400, "The AWS credentials have expired"),
        ("InvalidClientTokenId", 403, "AWS does not accept these credentials"),
        ("AccessDenied", 403, "The bot may not call rds:DescribeDBClusters"),
        ("InternalFailure", 500, "RDS answered InternalFailure for DescribeDBClusters."),
    ],
)
def test_what_aws_refuses_is_one_line(tmp_path: Path, code: str, status: int, words: str) -> None:
    with RefusingAws(code, status) as aws:
        values = {**KEYS, **REGION, "AWS_ENDPOINT_URL": aws.url}
        result = run_iamauth(bare_env(tmp_path, values), "metrics", "prod-db")
    assert aws.calls >= 1
    assert_one_line(result, 3, words)


def test_the_same_shell_with_credentials_answers(
    moto_endpoint: str, seeded: None, tmp_path: Path
) -> None:
    """The settings the tests above leave out are all it takes."""
    values = {**KEYS, **REGION, "AWS_ENDPOINT_URL": moto_endpoint}
    result = run_iamauth(bare_env(tmp_path, values), "failures", "prod-db", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total"] == 3


def test_clusters_and_doctor_without_credentials(moto_endpoint: str, tmp_path: Path) -> None:
    env = bare_env(tmp_path, {**REGION, "AWS_ENDPOINT_URL": moto_endpoint})
    assert_one_line(run_iamauth(env, "clusters"), 3, "No AWS credentials were found")
    doctor = run_iamauth(env, "doctor")
    assert "Traceback" not in doctor.stderr
    assert doctor.returncode == 1
    assert "NO  AWS identity: No AWS credentials were found" in doctor.stdout


def test_a_config_error_is_one_line_with_its_line(tmp_path: Path) -> None:
    config = tmp_path / "iamauth.toml"
    config.write_text('[[target]]\nregions = ["us-east-1"]\n\n[[target]]\nregions = ["moon-1"]\n')
    env = bare_env(tmp_path, {**KEYS, **REGION, "IAMAUTH_CONFIG": str(config)})
    assert_one_line(run_iamauth(env, "clusters"), 2, "IAMAUTH_CONFIG line 5: regions must be")


def test_the_exit_codes_are_in_the_help() -> None:
    result = run_iamauth(dict(os.environ), "--help")
    assert result.returncode == 0
    assert "exit codes:" in result.stdout
    for code in ("0  answered", "1  doctor", "2  bad input or configuration", "3  AWS said no"):
        assert code in result.stdout


def test_doctor_assumes_the_role_of_each_target(moto_endpoint: str, tmp_path: Path) -> None:
    role = "arn:aws:iam::111111111111:role/iamauth-read"
    config = tmp_path / "iamauth.toml"
    config.write_text(
        '[[target]]\nname = "home"\nregions = ["us-east-1"]\n\n'
        f'[[target]]\nname = "prod"\nregions = ["us-east-1"]\nrole_arn = "{role}"\n'
    )
    values = {**KEYS, **REGION, "AWS_ENDPOINT_URL": moto_endpoint, "IAMAUTH_CONFIG": str(config)}
    result = run_iamauth(bare_env(tmp_path, values), "doctor")
    assert f"ok  sts:AssumeRole (target prod: {role}): allowed" in result.stdout, result.stdout
    assert "target home" not in result.stdout  # its own credentials: nothing to assume
