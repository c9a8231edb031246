"""`failures … clients` names what each client address is: EC2 instances (Name tag, Auto Scaling
group), ECS tasks and Lambda functions, looked up in the emulator's EC2 over HTTP; Slack answers
through the real Bolt app, the CLI as a real process."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.network_interfaces import ADDRESSES_PER_CALL, workloads_of
from bot.domain.address import parse_address
from bot.domain.correlate import ClientGroup, Correlation
from bot.domain.window import Window
from bot.domain.workloads import WorkloadKind
from bot.sandbox.seed_workloads import SeededWorkloads, seed_workloads
from bot.services.alerting.aws_reads import AwsAlertReads
from bot.services.who_failed_from_where import (
    MAX_WORKLOAD_ADDRESSES,
    ClientsAnswer,
    with_workloads,
)
from tests.conftest import BotUnderTest
from tests.integration.test_watch_commands import reply_text
from tests.integration.test_who_failed_from_where import WORKLOADS, Row, iamauth, seed


@pytest.fixture
def made(aws: AwsClients) -> dict[str, str]:
    return seed_workloads(aws.ec2(), WORKLOADS, "us-east-1")


@pytest.fixture
def prod_db(aws: AwsClients, now: datetime, made: dict[str, str]) -> list[Row]:
    return seed(aws, now, "prod-db", ["iam-db-auth-error", "postgresql"])


def refuse(aws: AwsClients, operation: str) -> None:
    """moto does not enforce IAM: the real client refuses `operation` the way EC2 does."""

    def deny(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "UnauthorizedOperation", "Message": "You are not authorized"}},
            operation,
        )

    aws.ec2().meta.events.register(f"before-call.ec2.{operation}", deny)


def count_calls(aws: AwsClients, operation: str) -> list[dict[str, Any]]:
    """The parameters of each `operation` call made from now on."""
    calls: list[dict[str, Any]] = []
    aws.ec2().meta.events.register(
        f"provide-client-params.ec2.{operation}", lambda params, **_: calls.append(dict(params))
    )
    return calls


def test_the_slack_answer_names_the_workloads(
    bot: BotUnderTest, prod_db: list[Row], made: dict[str, str]
) -> None:
    text = reply_text(bot, "failures prod-db 1h clients")
    assert "*What the client addresses are*" in text
    assert f"10.0.1.67 ×2 — EC2 {made['10.0.1.67']} (checkout-api, ASG checkout-asg)" in text
    assert "10.0.2.8 ×1 — ECS service checkout (cluster prod)" in text
    assert "10.0.5.33 ×1 — Lambda reports-export" in text
    # IPv6 addresses are not looked up: no line calls them outside the VPCs.
    assert "outside this account's VPCs" not in text
    # The ExpiredToken fix names where tokens are reused by what runs there.
    assert (
        f"Tokens are being reused at `10.0.1.67` (`EC2 {made['10.0.1.67']} (checkout-api, "
        "ASG checkout-asg)`) ×2, `10.0.2.8` (`ECS service checkout (cluster prod)`) ×1"
    ) in text


def test_addresses_outside_the_vpcs_are_said_as_such(
    bot: BotUnderTest, aws: AwsClients, now: datetime
) -> None:
    seed_workloads(aws.ec2(), SeededWorkloads(functions={"10.0.5.33": "reports"}), "us-east-1")
    seed(aws, now, "prod-db", ["iam-db-auth-error", "postgresql"])
    text = reply_text(bot, "failures prod-db 1h clients")
    assert "10.0.5.33 ×1 — Lambda reports" in text
    assert (
        "10.0.1.67 ×2, 10.0.2.8 ×1 — outside this account's VPCs (a peered VPC, on-premises, "
        "or another account)"
    ) in text


def test_tags_are_escaped_and_never_ping(bot: BotUnderTest, aws: AwsClients, now: datetime) -> None:
    hostile = SeededWorkloads(instances={"10.0.1.67": ("<!channel> web", "<@U123>&asg")})
    made = seed_workloads(aws.ec2(), hostile, "us-east-1")
    seed(aws, now, "prod-db", ["iam-db-auth-error", "postgresql"])
    text = reply_text(bot, "failures prod-db 1h clients")
    instance = made["10.0.1.67"]
    assert f"EC2 {instance} (&lt;!channel&gt; web, ASG &lt;@U123&gt;&amp;asg)" in text
    assert "<!channel>" not in text
    assert "<@U123>" not in text


def test_the_cli_shows_them_in_text_and_json(
    moto_endpoint: str, prod_db: list[Row], made: dict[str, str]
) -> None:
    text = iamauth(moto_endpoint, "failures", "prod-db", "--since", "1h", "--clients")
    assert text.returncode == 0, text.stderr
    assert "10.0.2.8 ×1 — ECS service checkout (cluster prod)" in text.stdout
    result = iamauth(moto_endpoint, "failures", "prod-db", "--since", "1h", "--clients", "--json")
    assert result.returncode == 0, result.stderr
    groups = json.loads(result.stdout)["clients"]["by_user_code"]
    workloads = {a: w for g in groups for a, w in g["workloads"].items()}
    assert workloads["10.0.1.67"]["kind"] == "ec2-instance"
    assert workloads["10.0.1.67"]["id"] == made["10.0.1.67"]
    assert workloads["10.0.1.67"]["name"] == "checkout-api"
    assert workloads["10.0.1.67"]["group"] == "checkout-asg"
    assert workloads["10.0.5.33"]["kind"] == "lambda-function"
    assert workloads["10.0.5.33"]["id"] == "reports-export"
    # `clients` keeps its shape: address → failures.
    assert groups[0]["clients"] == {"10.0.1.67": 2, "10.0.2.8": 1}


def test_without_describe_network_interfaces_the_addresses_are_bare_with_a_note(
    bot: BotUnderTest, aws: AwsClients, prod_db: list[Row]
) -> None:
    refuse(aws, "DescribeNetworkInterfaces")
    text = reply_text(bot, "failures prod-db 1h clients")
    assert "`checkout_svc` · ExpiredToken — 10.0.1.67 ×2, 10.0.2.8 ×1" in text
    assert "What the client addresses are" not in text
    assert (
        "The client addresses are shown bare: the bot may not call `ec2:DescribeNetworkInterfaces`"
    ) in text
    assert "7 failed IAM authentications" in text


def test_without_describe_instances_instances_are_named_by_id(
    bot: BotUnderTest, aws: AwsClients, prod_db: list[Row], made: dict[str, str]
) -> None:
    refuse(aws, "DescribeInstances")
    text = reply_text(bot, "failures prod-db 1h clients")
    assert f"10.0.1.67 ×2 — EC2 {made['10.0.1.67']}\n" in text
    assert "10.0.2.8 ×1 — ECS service checkout (cluster prod)" in text
    assert "The bot may not call `ec2:DescribeInstances`" in text


def test_many_addresses_are_looked_up_in_few_calls_then_cached(aws: AwsClients) -> None:
    found = {f"10.0.{n // 200}.{n % 200 + 10}": (f"web-{n}", "web-asg") for n in range(3)}
    made = seed_workloads(aws.ec2(), SeededWorkloads(instances=found), "us-east-1")
    addresses = [*found, *(f"10.0.8.{n}" for n in range(250)), "[local]", "db.example.com"]
    interfaces = count_calls(aws, "DescribeNetworkInterfaces")
    instances = count_calls(aws, "DescribeInstances")
    lookup = workloads_of(aws.ec2(), addresses)
    assert len(interfaces) == 2  # 253 addresses, 200 a call
    assert [len(c["Filters"][0]["Values"]) for c in interfaces] == [ADDRESSES_PER_CALL, 53]
    assert {c["Filters"][0]["Name"] for c in interfaces} == {"addresses.private-ip-address"}
    assert len(instances) == 1
    assert {lookup.workloads[a].id for a in found} == {made[a] for a in found}
    assert {lookup.workloads[a].name for a in found} == {"web-0", "web-1", "web-2"}
    assert lookup.workloads["10.0.8.7"].kind is WorkloadKind.OUTSIDE
    assert "[local]" not in lookup.workloads
    assert "db.example.com" not in lookup.workloads
    again = workloads_of(aws.ec2(), addresses)
    assert len(interfaces) == 2  # every address was kept
    assert again.workloads == lookup.workloads


def test_an_answer_looks_up_its_most_frequent_addresses_only(aws: AwsClients) -> None:
    clients = [(f"10.0.9.{n}", 100 - n) for n in range(60)]
    groups = [
        ClientGroup("app", "InvalidToken", 10, clients[:30], 0, []),
        ClientGroup("etl", "ExpiredToken", 10, clients[30:], 0, []),
    ]
    answer = ClientsAnswer("g", Correlation(groups, 20, 20, 20, 0))
    interfaces = count_calls(aws, "DescribeNetworkInterfaces")
    looked = with_workloads(aws, answer)
    values = [v for c in interfaces for v in c["Filters"][0]["Values"]]
    assert sorted(values) == sorted(a for a, _ in clients[:MAX_WORKLOAD_ADDRESSES])
    assert len(looked.workloads) == MAX_WORKLOAD_ADDRESSES


def test_a_digest_names_the_top_workloads_where_the_engine_log_is_exported(
    aws: AwsClients, prod_db: list[Row], made: dict[str, str], now: datetime
) -> None:
    reads = AwsAlertReads(aws)
    window = Window(now - timedelta(hours=1), now)
    cluster = parse_address("prod-db")
    assert reads.log_export_on(cluster)
    summary = reads.log_summary(cluster, window, 1_000)
    assert summary is not None
    assert reads.top_workloads(cluster, window, summary) == [
        (f"EC2 {made['10.0.1.67']} (checkout-api, ASG checkout-asg)", 2),
        ("ECS service checkout (cluster prod)", 1),
        ("Lambda reports-export", 1),
    ]
    seed(aws, now, "solo-db", ["iam-db-auth-error"])  # no postgresql export: nothing to match
    solo = parse_address("solo-db")
    assert reads.log_export_on(solo)
    solo_summary = reads.log_summary(solo, window, 1_000)
    assert solo_summary is not None
    assert reads.top_workloads(solo, window, solo_summary) == []
