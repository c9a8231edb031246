"""DescribeDBClusters and DescribeDBInstances: which database a name is (an Aurora cluster or an
RDS DB instance), whether IAM auth is on, which log exports are on; and ModifyDBCluster or
ModifyDBInstance to turn the `iam-db-auth-error` export on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.adapters.aws.errors import (
    ACCESS_DENIED_CODES,
    BOTOCORE_ERRORS,
    AccessDenied,
    AwsError,
    ChangeDenied,
    ClusterBusy,
    ClusterNotFound,
    aws_error,
    error_code,
    error_message,
)
from bot.domain.cluster import CLUSTER, IAM_LOG_EXPORT, INSTANCE, ClusterInfo, Kind
from bot.domain.text import shown

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_rds.type_defs import CloudwatchLogsExportConfigurationTypeDef

_CLUSTER_NOT_FOUND = "DBClusterNotFoundFault"
_INSTANCE_NOT_FOUND = "DBInstanceNotFound"
_BUSY_CODES = frozenset({"InvalidDBClusterStateFault", "InvalidDBInstanceStateFault"})


class AmbiguousKind(AwsError):
    """An Aurora cluster and a standalone RDS DB instance share the name: ask which."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"`{name}` is both an Aurora cluster and an RDS DB instance here; which one: "
            f"`cluster:{name}` or `instance:{name}`?"
        )
        self.name = name


class ClusterMember(ClusterNotFound):
    """The name is an instance of an Aurora cluster: the cluster answers for it."""

    def __init__(self, instance: str, cluster: str) -> None:
        super().__init__(
            f"`{instance}` is an instance of Aurora cluster `{cluster}`; its failures are logged "
            f"for the cluster: ask for `{cluster}`."
        )
        self.instance = instance
        self.cluster = cluster


def describe_resource(client: RDSClient, name: str, kind: Kind | None = None) -> ClusterInfo:
    """The Aurora cluster or standalone RDS DB instance called `name` (of `kind`, if given).
    ClusterMember for an Aurora cluster's instance, AmbiguousKind when both kinds have the name,
    ClusterNotFound when neither has it. Without a kind, both are asked (two calls): a name
    RDS holds twice is asked back rather than guessed."""
    cluster = _find_cluster(client, name) if kind != INSTANCE else None
    try:
        instance = _find_instance(client, name) if kind != CLUSTER else None
    except AccessDenied:
        if cluster is None:
            raise
        instance = None  # a policy from before DB instances: the cluster answers, as it did
    if instance is not None and instance.get("DBClusterIdentifier"):
        if cluster is not None:  # an Aurora member is no standalone instance: no doubt
            instance = None
        else:
            raise ClusterMember(name, str(instance["DBClusterIdentifier"]))
    if cluster is not None and instance is not None:
        raise AmbiguousKind(name)
    if cluster is not None:
        return info_from(cluster, name)
    if instance is not None:
        return info_from_instance(instance, name)
    raise _not_found(name, kind)


def describe_cluster(client: RDSClient, cluster: str) -> ClusterInfo:
    """The Aurora cluster `cluster`, never an instance."""
    return describe_resource(client, cluster, CLUSTER)


def _find_cluster(client: RDSClient, name: str) -> Any | None:
    try:
        response = client.describe_db_clusters(DBClusterIdentifier=name)
    except BOTOCORE_ERRORS as error:
        if error_code(error) == _CLUSTER_NOT_FOUND:
            return None
        raise aws_error(error, "RDS", "rds:DescribeDBClusters") from None
    found = response.get("DBClusters", [])
    return found[0] if found else None


def _find_instance(client: RDSClient, name: str) -> Any | None:
    try:
        response = client.describe_db_instances(DBInstanceIdentifier=name)
    except BOTOCORE_ERRORS as error:
        if error_code(error) == _INSTANCE_NOT_FOUND:
            return None
        raise aws_error(error, "RDS", "rds:DescribeDBInstances") from None
    found = response.get("DBInstances", [])
    return found[0] if found else None


def enable_iam_log_export(client: RDSClient, cluster: str, kind: Kind = CLUSTER) -> ClusterInfo:
    """Ask RDS to export `iam-db-auth-error` to CloudWatch Logs, applied now. On Aurora this
    reboots nothing and drops no connection; the cluster shows "modifying" for a while. For a
    DB instance RDS applies a log-export change at once whatever ApplyImmediately says."""
    api = "ModifyDBCluster" if kind == CLUSTER else "ModifyDBInstance"
    configuration: CloudwatchLogsExportConfigurationTypeDef = {"EnableLogTypes": [IAM_LOG_EXPORT]}
    try:
        if kind == CLUSTER:
            response: Any = client.modify_db_cluster(
                DBClusterIdentifier=cluster,
                CloudwatchLogsExportConfiguration=configuration,
                ApplyImmediately=True,
            )
        else:
            response = client.modify_db_instance(
                DBInstanceIdentifier=cluster,
                CloudwatchLogsExportConfiguration=configuration,
                ApplyImmediately=True,
            )
    except BOTOCORE_ERRORS as error:
        code = error_code(error)
        if code in {_CLUSTER_NOT_FOUND, _INSTANCE_NOT_FOUND}:
            raise _not_found(cluster, kind) from None
        if code in _BUSY_CODES:
            raise ClusterBusy(cluster) from None
        if code in ACCESS_DENIED_CODES:
            raise ChangeDenied(
                f"rds:{api}",
                "add it to the bot's IAM policy, or turn the export on in the RDS console",
            ) from None
        if code in {"InvalidParameterValue", "InvalidParameterCombination"}:
            # RDS's own words say what is wrong (e.g. an engine without this export).
            message = shown(error_message(error), 300)
            raise AwsError(f"RDS refused the change: {message}") from None
        raise aws_error(error, "RDS", f"rds:{api}") from None
    if kind == CLUSTER:
        return info_from(response.get("DBCluster", {}), cluster)
    return info_from_instance(response.get("DBInstance", {}), cluster)


def _not_found(name: str, kind: Kind | None) -> ClusterNotFound:
    what = {
        CLUSTER: "Aurora cluster",
        INSTANCE: "RDS DB instance",
        None: "Aurora cluster or RDS DB instance",
    }[kind]
    return ClusterNotFound(f"There is no {what} `{name}` in this account and region.")


def _pending_exports(found: Any) -> tuple[str, ...]:
    pending = found.get("PendingModifiedValues", {}).get("PendingCloudwatchLogsExports", {})
    return tuple(pending.get("LogTypesToEnable", []))


def info_from(found: Any, cluster: str = "") -> ClusterInfo:
    """A DescribeDBClusters (or ModifyDBCluster) answer's cluster."""
    return ClusterInfo(
        identifier=found.get("DBClusterIdentifier", cluster),
        engine=found.get("Engine", ""),
        status=found.get("Status", ""),
        iam_auth_enabled=bool(found.get("IAMDatabaseAuthenticationEnabled", False)),
        log_exports=tuple(found.get("EnabledCloudwatchLogsExports", [])),
        pending_log_exports=_pending_exports(found),
        instances=tuple(
            m["DBInstanceIdentifier"]
            for m in found.get("DBClusterMembers", [])
            if "DBInstanceIdentifier" in m
        ),
        kind=CLUSTER,
        resource_id=found.get("DbClusterResourceId", ""),
    )


def info_from_instance(found: Any, instance: str = "") -> ClusterInfo:
    """A DescribeDBInstances (or ModifyDBInstance) answer's standalone DB instance."""
    return ClusterInfo(
        identifier=found.get("DBInstanceIdentifier", instance),
        engine=found.get("Engine", ""),
        status=found.get("DBInstanceStatus", ""),
        iam_auth_enabled=bool(found.get("IAMDatabaseAuthenticationEnabled", False)),
        log_exports=tuple(found.get("EnabledCloudwatchLogsExports", [])),
        pending_log_exports=_pending_exports(found),
        instances=(),
        kind=INSTANCE,
        resource_id=found.get("DbiResourceId", ""),
    )
