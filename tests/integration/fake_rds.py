"""A fake RDS client at the adapter boundary, for turning log exports on.

moto's server does not keep log exports changed by ModifyDBCluster (only those set at create time),
so this wraps the real moto client: every call goes to moto except `modify_db_cluster`, which is
recorded with its exact arguments, and `describe_db_clusters`, whose answer for a modified cluster
is "modifying" with the export pending for `modifying_describes` calls, then "available" with the
export on, as RDS answers while it applies the change.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from bot.adapters.aws.clients import AwsClients, AwsSettings

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient


class ModifyRecordingRds:
    def __init__(
        self, real: RDSClient, *, modifying_describes: int = 2, fail_with: str | None = None
    ) -> None:
        self.real = real
        self.modifying_describes = modifying_describes
        self.fail_with = fail_with  # an RDS error code ModifyDBCluster answers instead
        self.calls: list[dict[str, Any]] = []
        # Cleared by a test to hold every call until it is set again (the ack must not wait).
        self.open = threading.Event()
        self.open.set()
        self._left: dict[str, int] = {}
        self._enabled: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def modify_db_cluster(self, **kwargs: Any) -> dict[str, Any]:
        self.open.wait(10)
        with self._lock:
            self.calls.append(kwargs)
        if self.fail_with:
            error = {"Code": self.fail_with, "Message": f"{self.fail_with} from the fake"}
            raise ClientError({"Error": error}, "ModifyDBCluster")  # type: ignore[typeddict-item]
        cluster = kwargs["DBClusterIdentifier"]
        found = self.real.describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"][0]
        wanted = kwargs.get("CloudwatchLogsExportConfiguration", {}).get("EnableLogTypes", [])
        with self._lock:
            self._left[cluster] = self.modifying_describes
            self._enabled[cluster] = list(wanted)
            return {"DBCluster": self._as_now(dict(found), tick=False)}

    def describe_db_clusters(self, **kwargs: Any) -> dict[str, Any]:
        self.open.wait(10)
        response: dict[str, Any] = dict(self.real.describe_db_clusters(**kwargs))
        with self._lock:
            response["DBClusters"] = [
                self._as_now(dict(c), tick=True) for c in response.get("DBClusters", [])
            ]
        return response

    def _as_now(self, cluster: dict[str, Any], *, tick: bool) -> dict[str, Any]:
        name = cluster.get("DBClusterIdentifier", "")
        if name not in self._left:
            return cluster
        wanted = self._enabled[name]
        if self._left[name] > 0:
            if tick:
                self._left[name] -= 1
            pending = {"PendingCloudwatchLogsExports": {"LogTypesToEnable": wanted}}
            return {**cluster, "Status": "modifying", "PendingModifiedValues": pending}
        on = list(cluster.get("EnabledCloudwatchLogsExports", []))
        return {**cluster, "Status": "available", "EnabledCloudwatchLogsExports": on + wanted}


class FakeRdsClients(AwsClients):
    """AwsClients whose rds() is the fake; logs, CloudWatch and STS stay moto's."""

    def __init__(self, settings: AwsSettings, fake: ModifyRecordingRds) -> None:
        super().__init__(settings)
        self.fake = fake

    def rds(self) -> RDSClient:
        return cast("RDSClient", self.fake)
