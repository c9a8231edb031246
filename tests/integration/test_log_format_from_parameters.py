"""Who failed from where reads the `postgresql` log in the format the cluster's parameter group
sets. The log is moto's (over HTTP); the parameter values, which moto does not return, come from
botocore's Stubber at the adapter boundary, checked against RDS's API model."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import boto3
from botocore.stub import Stubber

from bot.adapters.aws.clients import AwsClients
from bot.domain.cluster import IAM_LOG_EXPORT, POSTGRESQL_EXPORT, ClusterInfo
from bot.domain.correlate import IamEvent
from bot.domain.pam import PAM_PHRASE
from bot.domain.summary import FailureSummary
from bot.domain.window import Window
from bot.services.who_failed_from_where import who_failed_from_where
from bot.views.who_failed_from_where import clients_texts

PREFIX = "%m:%r:%u@%d:%a:[%p]:%l:"


class StubbedRds(AwsClients):
    def __init__(self, real: AwsClients, rds: Any) -> None:
        self.__dict__.update(real.__dict__)
        self._rds = rds

    def rds(self) -> Any:
        return self._rds


def stubbed_rds(prefix: str | None) -> tuple[Any, Stubber]:
    client = boto3.client(
        "rds", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(client)
    stubber.add_response(
        "describe_db_clusters",
        {"DBClusters": [{"DBClusterIdentifier": "orders", "DBClusterParameterGroup": "orders-pg"}]},
        {"DBClusterIdentifier": "orders"},
    )
    parameters = [{"ParameterName": "log_line_prefix", "ParameterValue": prefix}] if prefix else []
    stubber.add_response(
        "describe_db_cluster_parameters",
        {"Parameters": parameters},
        {"DBClusterParameterGroupName": "orders-pg"},
    )
    stubber.activate()
    return client, stubber


def seed_log(aws: AwsClients, moment: datetime) -> None:
    logs = aws.logs()
    group = "/aws/rds/cluster/orders/postgresql"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="orders-1.0")
    stamp = f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond // 1000:03d} UTC"
    lines = [
        f"{stamp}:10.0.3.9(51000):app@orders:psql:[4242]:1:LOG:  connection received",
        f'{stamp}:10.0.3.9(51000):app@orders:psql:[4242]:2:FATAL:  {PAM_PHRASE} "app"',
    ]
    ms = int(moment.timestamp() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName="orders-1.0",
        logEvents=[{"timestamp": ms, "message": line} for line in lines],
    )


def ask(aws: AwsClients, now: datetime, prefix: str | None) -> tuple[Any, list[str]]:
    moment = (now - timedelta(minutes=5)).replace(microsecond=250_000)
    seed_log(aws, moment)
    client, stubber = stubbed_rds(prefix)
    info = ClusterInfo(
        "orders", "aurora-postgresql", "available", True, (IAM_LOG_EXPORT, POSTGRESQL_EXPORT), ()
    )
    summary = FailureSummary(
        events=[IamEvent(int(moment.timestamp() * 1000), "app", "ExpiredToken")]
    )
    window = Window(now - timedelta(minutes=15), now)
    answer = who_failed_from_where(StubbedRds(aws, client), info, window, summary, 1000)
    stubber.assert_no_pending_responses()
    return answer, clients_texts(answer, "orders")[1]


def test_a_custom_prefix_from_the_parameter_group_is_read_and_named(
    aws: AwsClients, now: datetime
) -> None:
    answer, notes = ask(aws, now, PREFIX)
    assert answer.correlation is not None
    assert answer.correlation.matched == 1
    assert answer.unreadable == 0
    group = answer.correlation.groups[0]
    assert (group.user, group.clients, group.databases) == ("app", [("10.0.3.9", 1)], ["orders"])
    assert any(f"`{PREFIX}`" in note and "`orders-pg`" in note for note in notes)


def test_with_the_default_assumed_the_same_lines_are_unreadable_and_the_note_says_so(
    aws: AwsClients, now: datetime
) -> None:
    answer, notes = ask(aws, now, None)
    assert answer.correlation is not None
    assert (answer.correlation.matched, answer.unreadable) == (0, 1)
    assert any("`%t:%r:%u@%d:[%p]:`" in note for note in notes)
