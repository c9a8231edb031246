"""DescribeDBClusters: does the cluster exist, is IAM auth on, which log exports are on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from bot.aws.errors import ACCESS_DENIED_CODES, AccessDenied, AwsError, ClusterNotFound

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient

IAM_LOG_EXPORT = "iam-db-auth-error"


@dataclass(frozen=True)
class ClusterInfo:
    identifier: str
    engine: str
    status: str
    iam_auth_enabled: bool
    log_exports: tuple[str, ...]
    instances: tuple[str, ...]

    @property
    def iam_log_export_on(self) -> bool:
        return IAM_LOG_EXPORT in self.log_exports


def describe_cluster(client: RDSClient, cluster: str) -> ClusterInfo:
    try:
        response = client.describe_db_clusters(DBClusterIdentifier=cluster)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "DBClusterNotFoundFault":
            raise ClusterNotFound(
                f"There is no cluster `{cluster}` in this account and region."
            ) from None
        if code in ACCESS_DENIED_CODES:
            raise AccessDenied("The bot may not call rds:DescribeDBClusters.") from None
        raise AwsError(f"RDS answered {code or 'an error'} for DescribeDBClusters.") from None
    clusters = response.get("DBClusters", [])
    if not clusters:
        raise ClusterNotFound(f"There is no cluster `{cluster}` in this account and region.")
    return info_from(clusters[0], cluster)


def info_from(found: Any, cluster: str = "") -> ClusterInfo:
    return ClusterInfo(
        identifier=found.get("DBClusterIdentifier", cluster),
        engine=found.get("Engine", ""),
        status=found.get("Status", ""),
        iam_auth_enabled=bool(found.get("IAMDatabaseAuthenticationEnabled", False)),
        log_exports=tuple(found.get("EnabledCloudwatchLogsExports", [])),
        instances=tuple(
            m["DBInstanceIdentifier"]
            for m in found.get("DBClusterMembers", [])
            if "DBInstanceIdentifier" in m
        ),
    )
