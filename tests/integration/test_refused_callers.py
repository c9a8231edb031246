"""NotAuthorized, exactly (issue 15, point 1): through the real Bolt app over HTTP, each refused
caller is shown with its role (the path asked of IAM), its account (another account flagged), the
exact rds-db ARN of each refused user, IAM's simulated decision and the statement to add; the
simulation is faked at the adapter boundary (moto lacks it), its requests checked against IAM's
service model. `iamauth failures --json` lists the same per caller."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.adapters.aws import iam_simulation
from bot.adapters.aws.clients import AwsClients
from bot.sandbox.iam_simulator import IamSimulator
from bot.sandbox.seed_aws import Failure, create_cluster, put_failures
from tests.conftest import BotUnderTest, run_iamauth
from tests.integration.test_slash_commands import all_text

ACCOUNT = "123456789012"
ETL = f"arn:aws:sts::{ACCOUNT}:assumed-role/etl-role/i-0abc"
ETL_ROLE = f"arn:aws:iam::{ACCOUNT}:role/apps/etl-role"  # its path is not in the session ARN
LOCKED = f"arn:aws:iam::{ACCOUNT}:role/locked"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
PARTNER = "arn:aws:sts::999988887777:assumed-role/partner/s1"


@pytest.fixture(autouse=True)
def fresh_findings() -> Iterator[None]:
    iam_simulation.forget()
    yield
    iam_simulation.forget()


def _seed(aws: AwsClients, now: datetime) -> str:
    """prod-db refused four callers; returns its DbClusterResourceId."""
    create_cluster(aws.rds(), "prod-db", iam=True, exports=["iam-db-auth-error"])
    aws.iam().create_role(RoleName="etl-role", Path="/apps/", AssumeRolePolicyDocument="{}")
    at = now - timedelta(minutes=20)
    refused = (
        [("etl", ETL)] * 3
        + [("reporting", ETL), ("x*", ETL), ("app", LOCKED), ("alice", ALICE)]
        + [("partner", PARTNER)] * 2
    )
    put_failures(
        aws.logs(),
        "prod-db",
        [
            Failure(at + timedelta(seconds=i), user, "NotAuthorized", caller)
            for i, (user, caller) in enumerate(refused)
        ],
    )
    cluster = aws.rds().describe_db_clusters(DBClusterIdentifier="prod-db")["DBClusters"][0]
    return str(cluster["DbClusterResourceId"])


def _arn(resource_id: str, user: str) -> str:
    return f"arn:aws:rds-db:us-east-1:{ACCOUNT}:dbuser:{resource_id}/{user}"


def test_each_refused_caller_shows_its_exact_arn_simulation_and_statement(
    bot: BotUnderTest, aws: AwsClients, now: datetime
) -> None:
    resource_id = _seed(aws, now)
    simulator = IamSimulator(
        decisions={ETL_ROLE: "implicitDeny", LOCKED: "explicitDeny", ALICE: "allowed"},
        matched={LOCKED: [("deny-prod-db", "user-managed")]},
    )
    simulator.install(aws.iam())  # the bot's own IAM client: the adapter boundary

    reply = bot.command("failures prod-db 1h")

    assert reply.response is not None
    text = all_text(reply.response.body)
    etl, reporting = _arn(resource_id, "etl"), _arn(resource_id, "reporting")
    # The session's role, with the path IAM's GetRole gave, in the database's account.
    assert f"Role `{ETL_ROLE}` · account `{ACCOUNT}`" in text
    assert f"Resource `{etl}`" in text
    assert f"Resource `{reporting}`" in text
    assert "No ARN for 1 user name(s)" in text  # `x*` would be a wildcard
    assert "implicit deny: no statement allows it: add the statement below" in text
    statement = {
        "Sid": "AllowRdsDbConnectetlrole",
        "Effect": "Allow",
        "Action": "rds-db:connect",
        "Resource": [etl, reporting],
    }
    assert "Statement to add to its policy:```" + json.dumps(statement, indent=2) + "```" in text
    assert "explicit deny by deny-prod-db (user-managed)" in text
    assert "allowed: the IAM policies allow it" in text
    assert "`GRANT rds_iam TO alice`" in text
    assert "*another account* than the database's (`123456789012`)" in text
    # What IAM was asked: exactly these principals and resources; never the other account's.
    asked = {r["PolicySourceArn"]: r for r in simulator.requests}
    assert set(asked) == {ETL_ROLE, LOCKED, ALICE}
    assert asked[ETL_ROLE] == {
        "PolicySourceArn": ETL_ROLE,
        "ActionNames": ["rds-db:connect"],
        "ResourceArns": [etl, reporting],
    }
    assert len(reply.response.body["blocks"]) <= 50


def test_without_the_simulation_permission_the_statement_is_still_shown(
    bot: BotUnderTest, aws: AwsClients, now: datetime
) -> None:
    resource_id = _seed(aws, now)
    IamSimulator(access_denied=True).install(aws.iam())

    reply = bot.command("failures prod-db 1h")

    assert reply.response is not None
    text = all_text(reply.response.body)
    assert "not checked (the bot may not call iam:SimulatePrincipalPolicy)" in text
    assert _arn(resource_id, "etl") in text
    assert "Statement to add to its policy:" in text


def test_failures_json_lists_each_refused_caller(
    moto_endpoint: str, aws: AwsClients, now: datetime
) -> None:
    resource_id = _seed(aws, now)
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_endpoint, "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("IAMAUTH_CONFIG", None)

    result = run_iamauth(env, "failures", "prod-db", "--since", "1h", "--json")

    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    assert data["by_caller"] == {ETL: 5, PARTNER: 2, LOCKED: 1, ALICE: 1}
    callers = {c["caller"]: c for c in data["callers"]}
    etl = callers[ETL]
    assert etl["role"] == ETL_ROLE
    assert etl["role_path_known"] is True
    assert (etl["account"], etl["cross_account"], etl["count"]) == (ACCOUNT, False, 5)
    assert etl["users"] == {"etl": 3, "reporting": 1, "x*": 1}
    assert etl["resource_arns"] == [_arn(resource_id, "etl"), _arn(resource_id, "reporting")]
    # The emulator cannot simulate: said, and the statement covers every refused user.
    assert etl["simulation"]["decision"] is None
    assert etl["simulation"]["outcome"].startswith("not checked (")
    assert json.loads(etl["statement"])["Resource"] == etl["resource_arns"]
    partner = callers[PARTNER]
    assert partner["cross_account"] is True
    assert partner["account"] == "999988887777"
    assert partner["resource_arns"] == [_arn(resource_id, "partner")]


# The adapter, with the simulation faked on a real IAM client of the emulator ---------------------
RESOURCE = f"arn:aws:rds-db:us-east-1:{ACCOUNT}:dbuser:cluster-ABCDEFGHIJKL01234/etl"


def test_the_adapter_caches_findings_but_not_throttling(aws: AwsClients) -> None:
    iam = aws.iam()
    simulator = IamSimulator(decisions={LOCKED: "allowed"})
    simulator.install(iam)
    first = iam_simulation.simulate_connect(iam, LOCKED, [RESOURCE], "p")
    again = iam_simulation.simulate_connect(iam, LOCKED, [RESOURCE], "p")
    assert first == again
    assert first.decision == "allowed"
    assert len(simulator.requests) == 1  # the second answer came from the cache

    simulator.error_code = "Throttling"
    throttled = iam_simulation.simulate_connect(iam, ALICE, [RESOURCE], "p")
    assert throttled.decision is None
    assert "throttled" in throttled.why_not
    simulator.error_code = ""
    assert iam_simulation.simulate_connect(iam, ALICE, [RESOURCE], "p").decision == "implicitDeny"

    simulator.error_code = "NoSuchEntity"
    missing = iam_simulation.simulate_connect(iam, ETL_ROLE, [RESOURCE], "p")
    assert missing.why_not == f"IAM knows no principal {ETL_ROLE}"


def test_the_adapter_reads_a_roles_path_and_never_simulates_text(aws: AwsClients) -> None:
    iam = aws.iam()
    simulator = IamSimulator()
    simulator.install(iam)
    aws.iam().create_role(RoleName="etl-role", Path="/apps/", AssumeRolePolicyDocument="{}")
    assert iam_simulation.role_arn(iam, "etl-role") == ETL_ROLE
    assert iam_simulation.role_arn(iam, "no-such-role") is None
    hostile = iam_simulation.simulate_connect(iam, "arn:aws:iam::123456789012:role/*", [RESOURCE])
    assert hostile.decision is None
    assert simulator.requests == []
