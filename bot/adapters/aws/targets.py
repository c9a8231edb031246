"""AWS targets: regions, and accounts reached through AssumeRole; which place holds a database
(an Aurora cluster or an RDS DB instance).

Clients are built once per (account, region). Assumed-role credentials are botocore's
DeferredRefreshableCredentials, which fetch before first use and refresh before they expire.
A short name (`prod-db`) is looked up in every place's list of clusters and standalone DB
instances (cached for a few minutes); `account/region/prod-db` names one place.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import boto3
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError
from botocore.session import Session as BotocoreSession

from bot.adapters.aws.clients import AwsClients, AwsSettings
from bot.adapters.aws.credential_redaction import guard_session, register_credentials
from bot.adapters.aws.errors import AwsError, aws_error
from bot.adapters.aws.rds import AmbiguousKind
from bot.adapters.aws.rds_inventory import list_databases
from bot.domain.address import Address
from bot.domain.cluster import ClusterInfo, Kind
from bot.ops import redact
from bot.ops.telemetry import count_aws_calls

__all__ = ["Address", "Place", "TargetSpec", "Targets"]

INVENTORY_SECONDS = 300
MAX_PARALLEL = 8


@dataclass(frozen=True)
class TargetSpec:
    name: str
    regions: tuple[str, ...]
    role_arn: str | None = None
    external_id: str | None = None
    session_name: str = "iamauth"

    @property
    def role_account(self) -> str | None:
        parts = (self.role_arn or "").split(":")
        return parts[4] if len(parts) > 4 and parts[4] else None


@dataclass(frozen=True)
class Place:
    target: str
    account: str
    region: str

    @property
    def label(self) -> str:
        return f"{self.account}/{self.region}"


class AmbiguousCluster(AwsError):
    def __init__(self, cluster: str, places: Sequence[Place]) -> None:
        """`cluster`: the name as said, with its kind if one was said (`instance:prod-db`)."""
        options = ", ".join(f"`{p.label}/{cluster}`" for p in places)
        super().__init__(f"`{cluster}` exists in more than one place; which one: {options}?")
        self.places = tuple(places)


class UnknownPlace(AwsError):
    pass


class Targets:
    def __init__(self, specs: Sequence[TargetSpec], base: AwsSettings) -> None:
        self.base = base
        self.specs = tuple(specs) or (TargetSpec("default", (base.region or "us-east-1",)),)
        # Sent in each AssumeRole request, which botocore logs at DEBUG.
        redact.register_secrets(spec.external_id for spec in self.specs)
        self._clients: dict[tuple[str, str], AwsClients] = {}
        self._accounts: dict[str, str] = {}
        self._inventory: dict[Place, tuple[float, list[ClusterInfo]]] = {}
        self._lock = threading.Lock()

    # Places and clients -------------------------------------------------------------------------
    def places(self) -> list[Place]:
        return [
            Place(spec.name, self._account(spec), region)
            for spec in self.specs
            for region in spec.regions
        ]

    @property
    def single(self) -> bool:
        return (
            len(self.specs) == 1 and len(self.specs[0].regions) == 1 and not self.specs[0].role_arn
        )

    def default(self) -> Place:
        spec = self.specs[0]
        return Place(spec.name, self._account(spec), spec.regions[0])

    def clients(self, place: Place) -> AwsClients:
        key = (place.target, place.region)
        with self._lock:
            clients = self._clients.get(key)
            if clients is None:
                spec = next(s for s in self.specs if s.name == place.target)
                settings = replace(self.base, region=place.region)
                try:
                    session = self._session(spec, place.region)
                except BotoCoreError as error:  # an unknown profile, incomplete credentials
                    raise aws_error(error, "STS", "sts:AssumeRole") from None
                clients = AwsClients(settings, session)
                self._clients[key] = clients
            return clients

    def _session(self, spec: TargetSpec, region: str) -> boto3.session.Session | None:
        if not spec.role_arn:
            return None
        source = boto3.session.Session(profile_name=self.base.profile, region_name=region)
        count_aws_calls(source.events)  # the AssumeRole calls of the credential fetcher
        guard_session(source)  # registers each AssumeRole answer before botocore logs it
        credentials = source.get_credentials()
        register_credentials(credentials)
        create = functools.partial(
            source._session.create_client, endpoint_url=self.base.endpoint_url
        )
        extra: dict[str, Any] = {"RoleSessionName": spec.session_name}
        if spec.external_id:
            extra["ExternalId"] = spec.external_id
        fetcher = AssumeRoleCredentialFetcher(create, credentials, spec.role_arn, extra_args=extra)
        botocore_session = BotocoreSession()
        # AwsClients registers what each refresh of these brings (register_credentials).
        botocore_session._credentials = DeferredRefreshableCredentials(  # type: ignore[attr-defined]
            refresh_using=fetcher.fetch_credentials, method="assume-role"
        )
        botocore_session.set_config_variable("region", region)
        return boto3.session.Session(botocore_session=botocore_session)

    def _account(self, spec: TargetSpec) -> str:
        if spec.role_account:
            return spec.role_account
        with self._lock:
            cached = self._accounts.get(spec.name)
        if cached:
            return cached
        try:
            base = AwsClients(replace(self.base, region=spec.regions[0]))
            account = str(base.sts().get_caller_identity()["Account"])
        except (ClientError, BotoCoreError):
            account = "self"
        with self._lock:
            self._accounts[spec.name] = account
        return account

    # Finding clusters -----------------------------------------------------------------------------
    def inventory(self, place: Place, *, fresh: bool = False) -> list[ClusterInfo]:
        """The place's Aurora clusters, then its standalone DB instances (an Aurora cluster's
        instances are left out: the cluster answers for them)."""
        now = time.monotonic()
        with self._lock:
            cached = self._inventory.get(place)
        if cached and not fresh and now - cached[0] < INVENTORY_SECONDS:
            return cached[1]
        found = list_databases(self.clients(place).rds())
        with self._lock:
            self._inventory[place] = (now, found)
        return found

    def kind_in(self, place: Place, address: Address) -> Kind | None:
        """What `address` names in `place`: the kind said, else the one the place's (cached)
        inventory has by that name; None where it has none. AmbiguousKind where it has both."""
        if address.kind:
            return address.kind
        kinds = {info.kind for info in self.inventory(place) if info.identifier == address.cluster}
        if len(kinds) > 1:
            raise AmbiguousKind(address.cluster)
        return kinds.pop() if kinds else None

    def each_place(self, work: Callable[[Place], Any]) -> list[tuple[Place, Any]]:
        """Run `work` for every place, a bounded number at a time; errors are returned, not raised."""

        def safe(place: Place) -> tuple[Place, Any]:
            try:
                return place, work(place)
            except AwsError as error:
                return place, error

        places = self.places()
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(places))) as pool:
            return list(pool.map(safe, places))

    def locate(self, address: Address, own: AwsClients) -> tuple[AwsClients, str]:
        """The clients of the place holding `address`, and that place's label; with one place and
        a short name, the process's `own` clients and no label (no lookup, no extra call)."""
        if self.single and not address.account:
            return own, ""
        place = self.resolve(address)
        return self.clients(place), place.label

    def resolve(self, address: Address) -> Place:
        if address.account or address.region:
            for place in self.places():
                if place.account == address.account and place.region == address.region:
                    return place
            raise UnknownPlace(
                f"iamauth has no target for account {address.account} in {address.region}."
            )
        if self.single:
            return self.default()
        holders = [
            place
            for place, found in self.each_place(self.inventory)
            if isinstance(found, list) and any(_is(address, info) for info in found)
        ]
        if len(holders) > 1:
            raise AmbiguousCluster(address.name, holders)
        return holders[0] if holders else self.default()


def _is(address: Address, info: ClusterInfo) -> bool:
    """Whether `info` is what `address` names: the same identifier, and the kind if one was said."""
    return info.identifier == address.cluster and address.kind in (None, info.kind)
