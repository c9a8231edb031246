"""The AWS adapters raise only the bot's errors, whatever fails on the way: real HTTP and TCP to
endpoints that refuse, never answer, or are not there; and clients that cannot be built."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from bot.adapters.aws.clients import AwsClients, AwsSettings
from bot.adapters.aws.cloudwatch_logs import LogScan
from bot.adapters.aws.cloudwatch_metrics import MetricQuery, get_metric_data
from bot.adapters.aws.errors import AwsSetupError, AwsUnreachable, CredentialsRefused, Throttled
from bot.adapters.aws.rds import describe_cluster
from bot.adapters.aws.targets import Targets, TargetSpec
from bot.domain.window import Window
from bot.services.doctor import run_checks
from tests.integration.refusing_aws import RefusingAws, SilentServer, closed_port

ROLE = "arn:aws:iam::111111111111:role/iamauth-read"
NOW = datetime.now(UTC)
WINDOW = Window(NOW - timedelta(hours=1), NOW)


def clients(endpoint: str, **settings: Any) -> AwsClients:
    """One attempt per call: these tests are about what the last failure becomes."""
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return AwsClients(
        AwsSettings(region="us-east-1", endpoint_url=endpoint, max_attempts=1, **settings),
        session,
    )


def test_an_expired_session_token_on_a_log_read() -> None:
    with RefusingAws("ExpiredTokenException") as aws:
        scan = LogScan(
            clients(aws.url).logs(), "/aws/rds/cluster/prod-db/iam-db-auth-error", WINDOW
        )
        with pytest.raises(CredentialsRefused, match="credentials have expired"):
            list(scan)


def test_a_throttled_account_on_describe() -> None:
    with RefusingAws("Throttling") as aws, pytest.raises(Throttled, match="rds:Describe"):
        describe_cluster(clients(aws.url).rds(), "prod-db")


def test_a_read_timeout() -> None:
    with SilentServer() as silent, pytest.raises(AwsUnreachable, match="read timeout"):
        describe_cluster(clients(silent.url, read_timeout=0.3).rds(), "prod-db")


def test_a_connection_refused_on_the_metrics() -> None:
    query = MetricQuery("IamDbAuthConnectionFailure", "DBClusterIdentifier", "prod-db")
    with pytest.raises(AwsUnreachable, match="Cannot connect to CloudWatch"):
        get_metric_data(clients(closed_port()).cloudwatch(), [query], WINDOW, 60)


def test_a_client_without_a_region_is_a_setup_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.write_text("")
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    aws = AwsClients(AwsSettings(endpoint_url=closed_port()))
    with pytest.raises(AwsSetupError, match="No AWS region is set"):
        aws.rds()


def test_an_unknown_profile_is_a_setup_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    with pytest.raises(AwsSetupError, match="profile `nope` does not exist"):
        AwsClients(AwsSettings(region="us-east-1", profile="nope"))


def test_a_target_role_with_incomplete_credentials_is_a_setup_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    spec = TargetSpec("prod", ("us-east-1",), ROLE)
    targets = Targets([spec], AwsSettings(region="us-east-1", endpoint_url=closed_port()))
    with pytest.raises(AwsSetupError, match="AWS_SECRET_ACCESS_KEY is missing"):
        targets.clients(targets.places()[0])


# iamauth doctor and the roles of [[target]] --------------------------------------------------------


def test_doctor_assumes_each_target_role(aws: AwsClients) -> None:
    targets = [
        TargetSpec("home", ("us-east-1",)),
        TargetSpec("prod", ("us-east-1",), ROLE, "ext-1"),
    ]
    assumed: list[dict[str, Any]] = []
    aws.sts().meta.events.register(
        "provide-client-params.sts.AssumeRole", lambda params, **_: assumed.append(dict(params))
    )
    checks = {c.name: c for c in run_checks(aws, None, targets)}
    check = checks[f"sts:AssumeRole (target prod: {ROLE})"]
    assert check.ok, check
    assert not check.only_for  # a configured target that cannot be reached is a real problem
    assert [a["RoleArn"] for a in assumed] == [ROLE]  # the target without a role needs none
    assert assumed[0]["ExternalId"] == "ext-1"
    assert assumed[0]["RoleSessionName"] == "iamauth"


def test_doctor_says_what_a_refused_assume_role_needs(aws: AwsClients) -> None:
    from botocore.exceptions import ClientError

    def deny(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole")

    aws.sts().meta.events.register("before-send.sts.AssumeRole", deny)
    spec = TargetSpec("prod", ("us-east-1",), ROLE, "ext-1")
    check = next(c for c in run_checks(aws, None, [spec]) if c.name.startswith("sts:AssumeRole"))
    assert not check.ok
    assert "allow sts:AssumeRole on this role" in check.detail
    assert "trust policy with this external_id" in check.detail
