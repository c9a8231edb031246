"""A database as iamauth knows it: an Aurora cluster or an RDS DB instance, what RDS says of it,
its log exports, the CloudWatch Logs groups they write to, the dimension its metrics carry, and
the AWS CLI line that turns an export on (for a person to run)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.domain.metrics import CLUSTER_DIMENSION, INSTANCE_DIMENSION

IAM_LOG_EXPORT = "iam-db-auth-error"
POSTGRESQL_EXPORT = "postgresql"  # the engine's own log: who connected from where
MYSQL_ERROR_EXPORT = "error"  # MySQL's and MariaDB's error log

# Aurora clusters answer for their members; RDS DB instances (no cluster) answer for themselves.
Kind = Literal["cluster", "instance"]
CLUSTER: Kind = "cluster"
INSTANCE: Kind = "instance"


@dataclass(frozen=True)
class ClusterInfo:
    identifier: str
    engine: str
    status: str
    iam_auth_enabled: bool
    log_exports: tuple[str, ...]
    instances: tuple[str, ...]  # an Aurora cluster's members; () for a DB instance
    # Exports asked for but not applied yet (the cluster is "modifying").
    pending_log_exports: tuple[str, ...] = ()
    kind: Kind = CLUSTER
    # DbClusterResourceId (`cluster-…`) or DbiResourceId (`db-…`): the resource in rds-db:connect.
    resource_id: str = ""

    @property
    def iam_log_export_on(self) -> bool:
        return IAM_LOG_EXPORT in self.log_exports

    @property
    def iam_log_export_pending(self) -> bool:
        return IAM_LOG_EXPORT in self.pending_log_exports

    @property
    def dimension(self) -> str:
        """The CloudWatch dimension naming this resource's own series."""
        return INSTANCE_DIMENSION if self.kind == INSTANCE else CLUSTER_DIMENSION

    @property
    def engine_log_export(self) -> str:
        """The export holding the engine's record of a failed login: `postgresql`, or `error`
        for MySQL and MariaDB engines."""
        return POSTGRESQL_EXPORT if "postgres" in self.engine else MYSQL_ERROR_EXPORT


def log_group(identifier: str, export: str, kind: Kind = CLUSTER) -> str:
    """`/aws/rds/cluster/<id>/<export>` or `/aws/rds/instance/<id>/<export>`."""
    return f"/aws/rds/{kind}/{identifier}/{export}"


def iam_log_group(cluster: str, kind: Kind = CLUSTER) -> str:
    return log_group(cluster, IAM_LOG_EXPORT, kind)


def postgresql_log_group(cluster: str, kind: Kind = CLUSTER) -> str:
    return log_group(cluster, POSTGRESQL_EXPORT, kind)


def enable_export_command(cluster: str, log_type: str, kind: Kind = CLUSTER) -> str:
    """The AWS CLI command that turns `log_type` on, applied now, for a person to run."""
    noun = "db-cluster" if kind == CLUSTER else "db-instance"
    return (
        f"aws rds modify-{noun} --{noun}-identifier {cluster} "
        f'--cloudwatch-logs-export-configuration \'{{"EnableLogTypes":["{log_type}"]}}\' '
        "--apply-immediately"
    )
