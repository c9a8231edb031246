"""RDS DB instances answer like Aurora clusters, named the same way (issue 14): an RDS for
PostgreSQL instance beside an Aurora cluster in moto, asked through signed Slack requests, the
CLI, the digest's reads and the target inventory.

Turning an instance's export on goes through the fake RDS client (tests/integration/fake_rds.py):
moto's server does not keep log exports changed by ModifyDBInstance."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.rds_inventory import list_databases
from bot.adapters.aws.targets import Targets, TargetSpec
from bot.bootstrap import Runtime
from bot.domain.address import Address, parse_address
from bot.domain.cluster import CLUSTER, IAM_LOG_EXPORT, INSTANCE, Kind, iam_log_group
from bot.domain.window import Window
from bot.sandbox.seed_aws import Failure, create_cluster, format_line, put_lines
from bot.sandbox.slack_standin import SlackStandIn
from bot.services.alerting.aws_reads import AwsAlertReads
from bot.services.cluster_identity import ClusterIdentity
from tests.conftest import BotUnderTest, run_iamauth
from tests.integration.fake_rds import ModifyRecordingRds
from tests.integration.test_log_exports import all_text, bot_with_fake, channel_posts, click

RDS_PG = "my-rds-postgres"
INSTANCE_CALL = {
    "DBInstanceIdentifier": "dev-rds",
    "CloudwatchLogsExportConfiguration": {"EnableLogTypes": ["iam-db-auth-error"]},
    "ApplyImmediately": True,
}


def create_instance(
    aws: AwsClients, name: str, exports: list[str], engine: str = "postgres"
) -> None:
    """A standalone RDS DB instance with IAM database authentication on."""
    aws.rds().create_db_instance(
        DBInstanceIdentifier=name,
        DBInstanceClass="db.t3.micro",
        Engine=engine,
        AllocatedStorage=20,
        MasterUsername="postgres",
        MasterUserPassword="demo-password-not-secret",
        EnableIAMDatabaseAuthentication=True,
        EnableCloudwatchLogsExports=exports,
    )


def seed_failures(aws: AwsClients, name: str, kind: Kind, count: int, now: datetime) -> None:
    """`count` InvalidToken lines of user `app` in the log group of `name` of `kind`."""
    lines = [
        (t, format_line(Failure(t, "app", "InvalidToken")))
        for t in (now - timedelta(minutes=5 + i) for i in range(count))
    ]
    put_lines(aws.logs(), iam_log_group(name, kind), f"{name}-stream", lines)


@pytest.fixture
def databases(aws: AwsClients, now: datetime) -> None:
    """Aurora `aurora-db` (member `aurora-db-1`, 2 failures), RDS for PostgreSQL `my-rds-postgres`
    (3 failures), `dev-rds` (export off), and `twin-db`: a cluster (4) and an instance (1)."""
    create_cluster(aws.rds(), "aurora-db", iam=True, exports=[IAM_LOG_EXPORT], instances=1)
    create_instance(aws, RDS_PG, [IAM_LOG_EXPORT, "postgresql"])
    create_instance(aws, "dev-rds", [])
    create_cluster(aws.rds(), "twin-db", iam=True, exports=[IAM_LOG_EXPORT], instances=0)
    create_instance(aws, "twin-db", [IAM_LOG_EXPORT])
    seed_failures(aws, "aurora-db", CLUSTER, 2, now)
    seed_failures(aws, RDS_PG, INSTANCE, 3, now)
    seed_failures(aws, "twin-db", CLUSTER, 4, now)
    seed_failures(aws, "twin-db", INSTANCE, 1, now)


def said(bot: BotUnderTest, text: str) -> str:
    reply = bot.command(text)
    assert reply.response is not None
    return all_text(reply.response.body)


def test_failures_of_an_rds_instance_read_its_instance_log_group(
    bot: BotUnderTest, databases: None
) -> None:
    text = said(bot, f"failures {RDS_PG} 1h")
    assert f"IAM auth failures · {RDS_PG}" in text
    assert f"/aws/rds/instance/{RDS_PG}/iam-db-auth-error" in text
    assert "*3 failed IAM authentications* in the log" in text
    beside = said(bot, "failures aurora-db 1h")  # the Aurora cluster beside it, as before
    assert "/aws/rds/cluster/aurora-db/iam-db-auth-error" in beside
    assert "*2 failed IAM authentications* in the log" in beside
    metrics = said(bot, f"metrics {RDS_PG} 1h")
    assert f"IAM auth metrics · {RDS_PG}" in metrics
    assert "DBInstanceIdentifier" in metrics


def test_failures_json_of_an_rds_instance(
    moto_endpoint: str, databases: None, aws: AwsClients
) -> None:
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_endpoint, "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("IAMAUTH_CONFIG", None)
    result = run_iamauth(env, "failures", RDS_PG, "--since", "1h", "--json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    assert (data["cluster"], data["total"], data["by_user"]) == (RDS_PG, 3, {"app": 3})
    assert (data["kind"], data["log_group"]) == (
        "instance",
        f"/aws/rds/instance/{RDS_PG}/iam-db-auth-error",
    )
    twin = run_iamauth(env, "failures", "123456789012/us-east-1/instance:twin-db", "--json")
    assert twin.returncode == 0, twin.stderr
    assert json.loads(twin.stdout)["total"] == 1


def test_an_aurora_member_instance_is_sent_to_its_cluster(
    bot: BotUnderTest, databases: None
) -> None:
    expected = (
        "`aurora-db-1` is an instance of Aurora cluster `aurora-db`; its failures are logged "
        "for the cluster: ask for `aurora-db`."
    )
    assert expected in said(bot, "failures aurora-db-1")
    assert expected in said(bot, "logs instance:aurora-db-1")


def test_a_name_of_a_cluster_and_an_instance_is_asked_back(
    bot: BotUnderTest, databases: None
) -> None:
    asked = said(bot, "failures twin-db 1h")
    assert "`twin-db` is both an Aurora cluster and an RDS DB instance here" in asked
    assert "`cluster:twin-db` or `instance:twin-db`" in asked
    instance = said(bot, "failures instance:twin-db 1h")
    assert "/aws/rds/instance/twin-db/iam-db-auth-error" in instance
    assert "*1 failed IAM authentications* in the log" in instance
    cluster = said(bot, "failures cluster:twin-db 1h")
    assert "/aws/rds/cluster/twin-db/iam-db-auth-error" in cluster
    assert "*4 failed IAM authentications* in the log" in cluster
    placed = said(bot, "failures 123456789012/us-east-1/instance:twin-db 1h")
    assert "*1 failed IAM authentications* in the log" in placed
    assert "There is no RDS DB instance `aurora-db`" in said(bot, "failures instance:aurora-db")
    nowhere = said(bot, "failures ghost-db")
    assert "There is no Aurora cluster or RDS DB instance `ghost-db` in this account" in nowhere


def test_logs_and_enable_logs_of_an_instance_call_modify_db_instance(
    runtime: Runtime, slack: SlackStandIn, aws: AwsClients, databases: None
) -> None:
    fake = ModifyRecordingRds(aws.rds(), modifying_describes=2)
    with bot_with_fake(runtime, slack, fake) as bot:
        logs = said(bot, "logs dev-rds")
        assert ":white_circle: *off* `iam-db-auth-error`" in logs
        assert "Instance status `available` · engine `postgres`" in logs
        assert "`/iamauth enable-logs dev-rds`: no reboot." in logs
        offer = said(bot, "enable-logs dev-rds")
        assert (
            '`ModifyDBInstance` with `CloudwatchLogsExportConfiguration={"EnableLogTypes"' in offer
        )
        assert "*Applied at once, with no reboot*" in offer
        assert "no dropped connections" not in offer  # said of Aurora only
        assert "/aws/rds/instance/dev-rds/iam-db-auth-error" in offer
        assert fake.instance_calls == []  # offering changes nothing
        click(bot, "dev-rds", "i1")
        announced, followed = channel_posts(bot, 2)
        assert "The instance shows `modifying`" in all_text(announced.body)
        assert "`dev-rds` is `available` again and the `iam-db-auth-error` export is on" in (
            all_text(followed.body)
        )
        assert ":large_green_circle: *on* `iam-db-auth-error`" in said(bot, "logs dev-rds")
    assert fake.instance_calls == [INSTANCE_CALL]
    assert fake.calls == []  # no ModifyDBCluster


def test_the_digest_reads_an_instance_log(aws: AwsClients, databases: None, now: datetime) -> None:
    reads = AwsAlertReads(aws)
    window = Window(now - timedelta(hours=1), now)
    address = Address(RDS_PG)
    assert reads.log_export_on(address)
    summary = reads.log_summary(address, window, 100)
    assert summary is not None
    assert summary.total == 3
    twin = parse_address("instance:twin-db")
    assert reads.log_export_on(twin)
    twin_summary = reads.log_summary(twin, window, 100)
    assert twin_summary is not None
    assert twin_summary.total == 1
    fresh = AwsAlertReads(aws).log_summary(address, window, 100)  # its kind asked of RDS
    assert fresh is not None
    assert fresh.total == 3


@pytest.fixture
def two_regions(aws: AwsClients) -> Targets:
    targets = Targets((TargetSpec("home", ("us-east-1", "eu-west-1")),), aws.settings)
    home, europe = targets.places()
    create_cluster(targets.clients(home).rds(), "shop-db", iam=True, exports=[], instances=1)
    create_instance(aws, "solo-db", [IAM_LOG_EXPORT], engine="mysql")
    europe_rds = targets.clients(europe).rds()
    europe_rds.create_db_instance(
        DBInstanceIdentifier="shop-db",
        DBInstanceClass="db.t3.micro",
        Engine="mariadb",
        EngineVersion="10.11.6",  # moto knows no default version of MariaDB
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="demo-password-not-secret",
    )
    return targets


def test_the_inventory_holds_standalone_instances_and_short_names_resolve_to_them(
    two_regions: Targets,
) -> None:
    targets = two_regions
    home, europe = targets.places()
    assert sorted((i.identifier, i.kind, i.engine) for i in targets.inventory(home)) == [
        ("shop-db", CLUSTER, "aurora-postgresql"),
        ("solo-db", INSTANCE, "mysql"),
    ]  # the member shop-db-1 is the cluster's
    [europe_shop] = targets.inventory(europe)
    assert (europe_shop.kind, europe_shop.resource_id.startswith("db-")) == (INSTANCE, True)
    assert targets.resolve(parse_address("solo-db")) == home
    assert targets.resolve(parse_address("instance:shop-db")) == europe
    assert targets.resolve(parse_address("cluster:shop-db")) == home
    with pytest.raises(Exception, match="exists in more than one place") as asked:
        targets.resolve(parse_address("shop-db"))
    assert "`123456789012/eu-west-1/shop-db`" in str(asked.value)
    identity = ClusterIdentity(targets)
    assert identity.same(parse_address("solo-db"), parse_address("instance:solo-db"))
    assert not identity.same(parse_address("solo-db"), parse_address("cluster:solo-db"))
    assert identity.same(
        parse_address("instance:shop-db"), parse_address("123456789012/eu-west-1/shop-db")
    )


def test_a_policy_without_describe_db_instances_still_answers_for_clusters(
    bot: BotUnderTest, aws: AwsClients, databases: None
) -> None:
    def deny(**_: Any) -> None:
        error = {"Code": "AccessDenied", "Message": "no"}
        raise ClientError({"Error": error}, "DescribeDBInstances")  # type: ignore[typeddict-item]

    aws.rds().meta.events.register("before-send.rds.DescribeDBInstances", deny)
    assert "*2 failed IAM authentications* in the log" in said(bot, "failures aurora-db 1h")
    refused = said(bot, f"failures {RDS_PG} 1h")
    assert "The bot may not call rds:DescribeDBInstances" in refused
    # The listing (digest inventory, names across places) keeps its clusters too.
    listed = {info.identifier: info.kind for info in list_databases(aws.rds())}
    assert listed.get("aurora-db") == "cluster"
    assert RDS_PG not in listed
