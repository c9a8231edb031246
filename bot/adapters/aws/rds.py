"""DescribeDBClusters: does the cluster exist, is IAM auth on, which log exports are on; and
ModifyDBCluster to turn the `iam-db-auth-error` export on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.adapters.aws.errors import (
    ACCESS_DENIED_CODES,
    BOTOCORE_ERRORS,
    AwsError,
    ChangeDenied,
    ClusterBusy,
    ClusterNotFound,
    aws_error,
    error_code,
    error_message,
)
from bot.domain.cluster import IAM_LOG_EXPORT, ClusterInfo
from bot.domain.text import shown

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient


def describe_cluster(client: RDSClient, cluster: str) -> ClusterInfo:
    try:
        response = client.describe_db_clusters(DBClusterIdentifier=cluster)
    except BOTOCORE_ERRORS as error:
        if error_code(error) == "DBClusterNotFoundFault":
            raise _not_found(cluster) from None
        raise aws_error(error, "RDS", "rds:DescribeDBClusters") from None
    clusters = response.get("DBClusters", [])
    if not clusters:
        raise _not_found(cluster)
    return info_from(clusters[0], cluster)


def enable_iam_log_export(client: RDSClient, cluster: str) -> ClusterInfo:
    """Ask RDS to export `iam-db-auth-error` to CloudWatch Logs, applied now. On Aurora this
    reboots nothing and drops no connection; the cluster shows "modifying" for a while."""
    try:
        response = client.modify_db_cluster(
            DBClusterIdentifier=cluster,
            CloudwatchLogsExportConfiguration={"EnableLogTypes": [IAM_LOG_EXPORT]},
            ApplyImmediately=True,
        )
    except BOTOCORE_ERRORS as error:
        code = error_code(error)
        if code == "DBClusterNotFoundFault":
            raise _not_found(cluster) from None
        if code in {"InvalidDBClusterStateFault", "InvalidDBInstanceStateFault"}:
            raise ClusterBusy(cluster) from None
        if code in ACCESS_DENIED_CODES:
            raise ChangeDenied(
                "rds:ModifyDBCluster",
                "add it to the bot's IAM policy, or turn the export on in the RDS console",
            ) from None
        if code in {"InvalidParameterValue", "InvalidParameterCombination"}:
            # RDS's own words say what is wrong (e.g. an engine without this export).
            message = shown(error_message(error), 300)
            raise AwsError(f"RDS refused the change: {message}") from None
        raise aws_error(error, "RDS", "rds:ModifyDBCluster") from None
    return info_from(response.get("DBCluster", {}), cluster)


def _not_found(cluster: str) -> ClusterNotFound:
    return ClusterNotFound(f"There is no cluster `{cluster}` in this account and region.")


def info_from(found: Any, cluster: str = "") -> ClusterInfo:
    return ClusterInfo(
        identifier=found.get("DBClusterIdentifier", cluster),
        engine=found.get("Engine", ""),
        status=found.get("Status", ""),
        iam_auth_enabled=bool(found.get("IAMDatabaseAuthenticationEnabled", False)),
        log_exports=tuple(found.get("EnabledCloudwatchLogsExports", [])),
        pending_log_exports=tuple(
            found.get("PendingModifiedValues", {})
            .get("PendingCloudwatchLogsExports", {})
            .get("LogTypesToEnable", [])
        ),
        instances=tuple(
            m["DBInstanceIdentifier"]
            for m in found.get("DBClusterMembers", [])
            if "DBInstanceIdentifier" in m
        ),
    )
