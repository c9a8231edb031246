"""A cluster as iamauth knows it: what RDS says of it, its log exports, the CloudWatch Logs
groups they write to, and the AWS CLI line that turns an export on (for a person to run)."""

from __future__ import annotations

from dataclasses import dataclass

IAM_LOG_EXPORT = "iam-db-auth-error"
POSTGRESQL_EXPORT = "postgresql"  # the engine's own log: who connected from where


@dataclass(frozen=True)
class ClusterInfo:
    identifier: str
    engine: str
    status: str
    iam_auth_enabled: bool
    log_exports: tuple[str, ...]
    instances: tuple[str, ...]
    # Exports asked for but not applied yet (the cluster is "modifying").
    pending_log_exports: tuple[str, ...] = ()

    @property
    def iam_log_export_on(self) -> bool:
        return IAM_LOG_EXPORT in self.log_exports

    @property
    def iam_log_export_pending(self) -> bool:
        return IAM_LOG_EXPORT in self.pending_log_exports


def iam_log_group(cluster: str) -> str:
    return f"/aws/rds/cluster/{cluster}/iam-db-auth-error"


def postgresql_log_group(cluster: str) -> str:
    return f"/aws/rds/cluster/{cluster}/postgresql"


def enable_export_command(cluster: str, log_type: str) -> str:
    """The AWS CLI command that turns `log_type` on, applied now, for a person to run."""
    return (
        f"aws rds modify-db-cluster --db-cluster-identifier {cluster} "
        f'--cloudwatch-logs-export-configuration \'{{"EnableLogTypes":["{log_type}"]}}\' '
        "--apply-immediately"
    )
