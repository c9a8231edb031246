"""A fake RDS client at the adapter boundary, for turning log exports on.

moto's server does not keep log exports changed by ModifyDBCluster or ModifyDBInstance (only
those set at create time), so this wraps the real moto client: every call goes to moto except
`modify_db_cluster` and `modify_db_instance`, which are checked against RDS's API model
(botocore's validator, as Stubber checks) and recorded with their exact arguments, and
`describe_db_clusters` / `describe_db_instances`, whose answer for a modified database is
"modifying" with the export pending for `modifying_describes` calls, then "available" with the
export on, as RDS answers while it applies the change.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError
from botocore.validate import validate_parameters

from bot.adapters.aws.clients import AwsClients, AwsSettings

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient

# What each API calls its database, its list in a describe answer, and its status field.
_CLUSTER = ("DBClusterIdentifier", "DBClusters", "Status", "DBCluster")
_INSTANCE = ("DBInstanceIdentifier", "DBInstances", "DBInstanceStatus", "DBInstance")


class ModifyRecordingRds:
    def __init__(
        self, real: RDSClient, *, modifying_describes: int = 2, fail_with: str | None = None
    ) -> None:
        self.real = real
        self.modifying_describes = modifying_describes
        self.fail_with = fail_with  # an RDS error code the Modify call answers instead
        self.calls: list[dict[str, Any]] = []  # ModifyDBCluster's
        self.instance_calls: list[dict[str, Any]] = []  # ModifyDBInstance's
        # Cleared by a test to hold every call until it is set again (the ack must not wait).
        self.open = threading.Event()
        self.open.set()
        self._left: dict[tuple[str, str], int] = {}
        self._enabled: dict[tuple[str, str], list[str]] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def modify_db_cluster(self, **kwargs: Any) -> dict[str, Any]:
        return self._modify("ModifyDBCluster", _CLUSTER, self.calls, kwargs)

    def modify_db_instance(self, **kwargs: Any) -> dict[str, Any]:
        return self._modify("ModifyDBInstance", _INSTANCE, self.instance_calls, kwargs)

    def describe_db_clusters(self, **kwargs: Any) -> dict[str, Any]:
        return self._describe(self.real.describe_db_clusters(**kwargs), _CLUSTER)

    def describe_db_instances(self, **kwargs: Any) -> dict[str, Any]:
        return self._describe(self.real.describe_db_instances(**kwargs), _INSTANCE)

    def _modify(
        self, api: str, names: tuple[str, ...], calls: list[dict[str, Any]], kwargs: Any
    ) -> dict[str, Any]:
        self.open.wait(10)
        shape = self.real.meta.service_model.operation_model(api).input_shape
        assert shape is not None
        validate_parameters(kwargs, shape)  # ParamValidationError on a malformed request
        with self._lock:
            calls.append(kwargs)
        if self.fail_with:
            error = {"Code": self.fail_with, "Message": f"{self.fail_with} from the fake"}
            raise ClientError({"Error": error}, api)  # type: ignore[typeddict-item]
        id_field, list_field, _, answer_field = names
        name = kwargs[id_field]
        described: Any = (
            self.real.describe_db_clusters(DBClusterIdentifier=name)
            if names is _CLUSTER
            else self.real.describe_db_instances(DBInstanceIdentifier=name)
        )
        found = described[list_field][0]
        wanted = kwargs.get("CloudwatchLogsExportConfiguration", {}).get("EnableLogTypes", [])
        with self._lock:
            self._left[(id_field, name)] = self.modifying_describes
            self._enabled[(id_field, name)] = list(wanted)
            return {answer_field: self._as_now(dict(found), names, tick=False)}

    def _describe(self, real_answer: Any, names: tuple[str, ...]) -> dict[str, Any]:
        self.open.wait(10)
        response: dict[str, Any] = dict(real_answer)
        list_field = names[1]
        with self._lock:
            response[list_field] = [
                self._as_now(dict(found), names, tick=True)
                for found in response.get(list_field, [])
            ]
        return response

    def _as_now(
        self, found: dict[str, Any], names: tuple[str, ...], *, tick: bool
    ) -> dict[str, Any]:
        id_field, _, status_field, _ = names
        key = (id_field, found.get(id_field, ""))
        if key not in self._left:
            return found
        wanted = self._enabled[key]
        if self._left[key] > 0:
            if tick:
                self._left[key] -= 1
            pending = {"PendingCloudwatchLogsExports": {"LogTypesToEnable": wanted}}
            return {**found, status_field: "modifying", "PendingModifiedValues": pending}
        on = list(found.get("EnabledCloudwatchLogsExports", []))
        return {**found, status_field: "available", "EnabledCloudwatchLogsExports": on + wanted}


class FakeRdsClients(AwsClients):
    """AwsClients whose rds() is the fake; logs, CloudWatch and STS stay moto's."""

    def __init__(self, settings: AwsSettings, fake: ModifyRecordingRds) -> None:
        super().__init__(settings)
        self.fake = fake

    def rds(self) -> RDSClient:
        return cast("RDSClient", self.fake)
