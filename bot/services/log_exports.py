"""A database's log exports (an Aurora cluster's or an RDS DB instance's): which are on
(`/iamauth logs`), and turning `iam-db-auth-error` on (`/iamauth enable-logs`), then following the
change until RDS has applied it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.rds import describe_resource, enable_iam_log_export
from bot.adapters.aws.targets import Targets
from bot.domain.address import Address
from bot.domain.cluster import ClusterInfo
from bot.services.places import as_address, locate

# Following a log-export change until the database is `available` again (a few minutes).
MODIFY_POLL_SECONDS = 15.0
MODIFY_TIMEOUT_SECONDS = 20 * 60.0


@dataclass(frozen=True)
class LogExports:
    cluster: ClusterInfo
    place: str = ""  # `account/region` when iamauth watches more than one


@dataclass(frozen=True)
class ExportChange:
    cluster: ClusterInfo  # as ModifyDBCluster/Instance answered, or as described if not asked
    place: str
    requested: bool  # False: the export was on, or being turned on, already; nothing was called


class LogExportService:
    def __init__(
        self,
        aws: AwsClients,
        *,
        targets: Targets | None = None,
        changed: Callable[[], None] = lambda: None,
        modify_poll_seconds: float = MODIFY_POLL_SECONDS,
        modify_timeout_seconds: float = MODIFY_TIMEOUT_SECONDS,
    ) -> None:
        self.aws = aws
        self.targets = targets
        # Called once an export was turned on: answers cached before say "export off".
        self.changed = changed
        self.modify_poll_seconds = modify_poll_seconds
        self.modify_timeout_seconds = modify_timeout_seconds

    def read(self, cluster: str | Address) -> LogExports:
        """The log exports, read fresh (never cached): people ask this to follow a change."""
        address = as_address(cluster)
        aws, place = locate(self.aws, self.targets, address)
        return LogExports(describe_resource(aws.rds(), address.cluster, address.kind), place)

    def enable_iam_log_export(self, cluster: str | Address) -> ExportChange:
        """Turn the `iam-db-auth-error` export on, unless it is on or being turned on already."""
        address = as_address(cluster)
        aws, place = locate(self.aws, self.targets, address)
        info = describe_resource(aws.rds(), address.cluster, address.kind)
        if info.iam_log_export_on or info.iam_log_export_pending:
            return ExportChange(info, place, requested=False)
        changed = enable_iam_log_export(aws.rds(), info.identifier, info.kind)
        self.changed()
        return ExportChange(changed, place, requested=True)

    def wait_for_iam_log_export(self, cluster: str | Address) -> ClusterInfo | None:
        """Poll until the database is `available` with the export on; None after the timeout.
        Both are checked: right after the Modify call it may still say `available`."""
        address = as_address(cluster)
        aws, _ = locate(self.aws, self.targets, address)
        deadline = time.monotonic() + self.modify_timeout_seconds
        while True:
            info = describe_resource(aws.rds(), address.cluster, address.kind)
            if info.status == "available" and info.iam_log_export_on:
                self.changed()
                return info
            if time.monotonic() + self.modify_poll_seconds > deadline:
                return None
            time.sleep(self.modify_poll_seconds)
