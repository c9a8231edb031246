"""How a cluster writes its `postgresql` log: `log_line_prefix`, `log_destination` and
`log_timezone` from its parameter groups.

A cluster's DB cluster parameter group (DescribeDBClusters → DBClusterParameterGroup →
DescribeDBClusterParameters) holds the cluster-wide values; its instances' DB parameter groups
(DescribeDBInstances → DBParameterGroups → DescribeDBParameters) may set them per instance, and
win where they do. A parameter without a ParameterValue keeps the engine's default. When a group
cannot be read (no permission, throttled, gone), the RDS default is assumed and `source` says so:
reading the log is never refused for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.adapters.aws.errors import BOTOCORE_ERRORS, error_code
from bot.domain.log_line_prefix import DEFAULT_PREFIX, LogFormat

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient

LOG_PARAMETERS = ("log_line_prefix", "log_destination", "log_timezone")
_DEFAULTS = {"log_line_prefix": DEFAULT_PREFIX, "log_destination": "stderr", "log_timezone": ""}


@dataclass(frozen=True)
class LogFormatRead:
    log_format: LogFormat
    source: str  # where it came from, for the answer: a group's name, or why the default


def read_log_format(client: RDSClient, cluster: str) -> LogFormatRead:
    """The log format of `cluster`; the RDS default, with the reason, when it cannot be read."""
    try:
        found = client.describe_db_clusters(DBClusterIdentifier=cluster).get("DBClusters", [])
        if not found:
            return _default("the cluster was not found")
        values: dict[str, str] = {}
        groups: list[str] = []
        cluster_group = found[0].get("DBClusterParameterGroup")
        if cluster_group:
            values |= _values(_cluster_parameters(client, cluster_group))
            groups.append(cluster_group)
        for member in found[0].get("DBClusterMembers", [])[:1]:
            instance = member["DBInstanceIdentifier"]
            described = client.describe_db_instances(DBInstanceIdentifier=instance)
            for group in described["DBInstances"][0].get("DBParameterGroups", [])[:1]:
                name = group["DBParameterGroupName"]
                values |= _values(_instance_parameters(client, name))
                groups.append(name)
    except BOTOCORE_ERRORS as error:
        return _default(f"its parameter groups could not be read: {error_code(error) or 'error'}")
    merged = _DEFAULTS | values
    log_format = LogFormat(
        prefix=merged["log_line_prefix"],
        destination=merged["log_destination"] or "stderr",
        zone=merged["log_timezone"] or None,
    )
    named = ", ".join(f"`{g}`" for g in groups)
    return LogFormatRead(log_format, f"parameter group {named}" if groups else "the RDS default")


def _cluster_parameters(client: RDSClient, group: str) -> list[Any]:
    pages = client.get_paginator("describe_db_cluster_parameters").paginate(
        DBClusterParameterGroupName=group
    )
    return [p for page in pages for p in page.get("Parameters", [])]


def _instance_parameters(client: RDSClient, group: str) -> list[Any]:
    pages = client.get_paginator("describe_db_parameters").paginate(DBParameterGroupName=group)
    return [p for page in pages for p in page.get("Parameters", [])]


def _values(parameters: list[Any]) -> dict[str, str]:
    """The log parameters that have a value in force (no ParameterValue: the engine default)."""
    return {
        p["ParameterName"]: p["ParameterValue"]
        for p in parameters
        if p.get("ParameterName") in LOG_PARAMETERS and "ParameterValue" in p
    }


def _default(reason: str) -> LogFormatRead:
    return LogFormatRead(LogFormat(), f"the RDS default ({reason})")
