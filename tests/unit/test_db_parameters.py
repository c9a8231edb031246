"""Reading a cluster's log format from its parameter groups (bot/adapters/aws/db_parameters.py).

moto does not return the parameters' values, so RDS is faked at the adapter boundary with
botocore's Stubber: it checks each request against RDS's own API model (operation, parameter
names and types, required members) and the exact parameters the adapter sends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from bot.adapters.aws.db_parameters import read_log_format
from bot.domain.log_line_prefix import DEFAULT_PREFIX, LogFormat


@pytest.fixture
def rds() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "rds", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def cluster(group: str | None, members: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {
        "DBClusterIdentifier": "orders",
        "DBClusterMembers": [{"DBInstanceIdentifier": m} for m in members],
    }
    if group:
        found["DBClusterParameterGroup"] = group
    return {"DBClusters": [found]}


def parameter(name: str, value: str | None) -> dict[str, Any]:
    found = {"ParameterName": name, "Source": "user" if value else "engine-default"}
    return found | ({"ParameterValue": value} if value is not None else {})


def test_cluster_and_instance_groups_give_the_format_instance_values_winning(
    rds: tuple[Any, Stubber],
) -> None:
    client, stubber = rds
    stubber.add_response(
        "describe_db_clusters",
        cluster("orders-cluster-pg", ["orders-1"]),
        {"DBClusterIdentifier": "orders"},
    )
    stubber.add_response(
        "describe_db_cluster_parameters",
        {
            "Parameters": [
                parameter("log_line_prefix", "%m:%r:%u@%d:[%p]:%l:"),
                parameter("log_destination", "csvlog"),
                parameter("log_min_duration_statement", "100"),
            ],
            "Marker": "page-2",
        },
        {"DBClusterParameterGroupName": "orders-cluster-pg"},
    )
    stubber.add_response(
        "describe_db_cluster_parameters",
        {"Parameters": [parameter("log_timezone", "Europe/Berlin")]},
        {"DBClusterParameterGroupName": "orders-cluster-pg", "Marker": "page-2"},
    )
    stubber.add_response(
        "describe_db_instances",
        {
            "DBInstances": [
                {
                    "DBInstanceIdentifier": "orders-1",
                    "DBParameterGroups": [
                        {"DBParameterGroupName": "orders-pg", "ParameterApplyStatus": "in-sync"}
                    ],
                }
            ]
        },
        {"DBInstanceIdentifier": "orders-1"},
    )
    stubber.add_response(
        "describe_db_parameters",
        {"Parameters": [parameter("log_line_prefix", "%m [%p] "), parameter("log_timezone", None)]},
        {"DBParameterGroupName": "orders-pg"},
    )
    read = read_log_format(client, "orders")
    assert read.log_format == LogFormat("%m [%p] ", "csvlog", "Europe/Berlin")
    assert read.source == "parameter group `orders-cluster-pg`, `orders-pg`"


def test_values_left_at_the_engine_default_give_the_rds_default(
    rds: tuple[Any, Stubber],
) -> None:
    client, stubber = rds
    stubber.add_response("describe_db_clusters", cluster("default.aurora-postgresql16", []))
    stubber.add_response(
        "describe_db_cluster_parameters",
        {"Parameters": [parameter("log_line_prefix", None), parameter("log_destination", None)]},
    )
    read = read_log_format(client, "orders")
    assert read.log_format == LogFormat(DEFAULT_PREFIX, "stderr", None)
    assert read.log_format.is_default


@pytest.mark.parametrize("code", ["AccessDenied", "DBParameterGroupNotFound", "Throttling"])
def test_an_unreadable_group_assumes_the_default_and_says_why(
    rds: tuple[Any, Stubber], code: str
) -> None:
    client, stubber = rds
    stubber.add_response("describe_db_clusters", cluster("custom", []))
    stubber.add_client_error("describe_db_cluster_parameters", service_error_code=code)
    read = read_log_format(client, "orders")
    assert read.log_format == LogFormat()
    assert code in read.source
    assert read.source.startswith("the RDS default")
