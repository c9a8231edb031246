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


@dataclass(frozen=True)
class ParameterRead:
    """One engine parameter's value in force (None: no group sets it, the engine default)."""

    value: str | None
    source: str  # the groups read, or why none could be
    readable: bool = True


def read_parameter(client: RDSClient, identifier: str, kind: str, name: str) -> ParameterRead:
    """`name` as the parameter groups of a cluster (its cluster group, then its first member's
    DB parameter group, which wins) or of a DB instance set it. A group that cannot be read is
    named in `source`; the value is known when the group that wins could be read."""
    try:
        cluster_group, instance = _groups_of(client, identifier, kind)
        instance_group = _instance_group(client, instance) if instance else None
    except BOTOCORE_ERRORS as error:
        reason = f"the parameter groups could not be read: {error_code(error) or 'error'}"
        return ParameterRead(None, reason, readable=False)
    read: list[str] = []
    unread: list[str] = []
    values: list[str | None] = []
    for group, parameters in (
        (cluster_group, _cluster_parameters),
        (instance_group, _instance_parameters),
    ):
        if not group:
            continue
        try:
            values.append(_named(parameters(client, group), name).get(name))
            read.append(f"`{group}`")
        except BOTOCORE_ERRORS as error:
            values.append(None)
            unread.append(f"`{group}` ({error_code(error) or 'error'})")
    value = next((v for v in reversed(values) if v is not None), None)
    source = f"parameter group {', '.join(read)}" if read else "no parameter group read"
    if unread:
        source += f"; could not read {', '.join(unread)}"
    # Unknown only when a group that could set it was not read and none read sets it.
    return ParameterRead(value, source, readable=value is not None or not unread)


def _groups_of(client: RDSClient, identifier: str, kind: str) -> tuple[str | None, str | None]:
    """(the cluster parameter group, the DB instance whose DB parameter group counts)."""
    if kind != "cluster":
        return None, identifier
    found = client.describe_db_clusters(DBClusterIdentifier=identifier).get("DBClusters", [])
    if not found:
        return None, None
    members = found[0].get("DBClusterMembers", [])
    instance = members[0]["DBInstanceIdentifier"] if members else None
    return found[0].get("DBClusterParameterGroup"), instance


def _instance_group(client: RDSClient, instance: str) -> str | None:
    described = client.describe_db_instances(DBInstanceIdentifier=instance)["DBInstances"]
    groups = described[0].get("DBParameterGroups", []) if described else []
    return groups[0]["DBParameterGroupName"] if groups else None


def _named(parameters: list[Any], name: str) -> dict[str, str]:
    return {
        p["ParameterName"]: p["ParameterValue"]
        for p in parameters
        if p.get("ParameterName") == name and "ParameterValue" in p
    }
