"""Client addresses → the workloads behind them: `ec2:DescribeNetworkInterfaces` filtered by
address, then `ec2:DescribeInstances` for the instances those interfaces are attached to.

Both are optional permissions: refused, the addresses stay bare and `Lookup.denied` names the
action; any other failure sets `Lookup.error`. Neither ever fails the answer that asked.

Batched: one DescribeNetworkInterfaces call filters on up to 200 addresses (EC2's limit of values
per filter), paged. Found workloads are kept for a few minutes per client (one per account and
region) and address, so a repeated or refreshed answer asks EC2 nothing.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from bot.adapters.aws.errors import ACCESS_DENIED_CODES, BOTOCORE_ERRORS, aws_error, error_code
from bot.domain.workloads import OUTSIDE, Instance, Interface, Workload, classify, looked_up

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

ADDRESSES_PER_CALL = 200  # EC2: at most 200 values in one filter
INSTANCES_PER_CALL = 200
PAGE_SIZE = 1000  # DescribeNetworkInterfaces/DescribeInstances: MaxResults up to 1000
TTL_SECONDS = 300.0
INTERFACES_ACTION = "ec2:DescribeNetworkInterfaces"
INSTANCES_ACTION = "ec2:DescribeInstances"


@dataclass(frozen=True)
class Lookup:
    workloads: dict[str, Workload] = field(default_factory=dict)  # looked-up address → workload
    denied: str = ""  # the action the bot may not call ("" when none was refused)
    error: str = ""  # why the lookup failed otherwise (one sentence), or ""


class _Cache:
    def __init__(self) -> None:
        self.entries: dict[str, tuple[float, Workload]] = {}
        self.lock = threading.Lock()


# Per client object: a client belongs to one account and region (and endpoint).
_CACHES: weakref.WeakKeyDictionary[Any, _Cache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def _cache_of(ec2: EC2Client) -> _Cache:
    with _CACHES_LOCK:
        cache = _CACHES.get(ec2)
        if cache is None:
            cache = _CACHES[ec2] = _Cache()
        return cache


def workloads_of(
    ec2: EC2Client, addresses: Sequence[str], clock: Callable[[], float] = time.monotonic
) -> Lookup:
    """The workload of each IPv4 address of `addresses` (others are not looked up)."""
    cache = _cache_of(ec2)
    now = clock()
    found: dict[str, Workload] = {}
    wanted: list[str] = []
    with cache.lock:
        for address in dict.fromkeys(a for a in addresses if looked_up(a)):
            entry = cache.entries.get(address)
            if entry is not None and now - entry[0] < TTL_SECONDS:
                found[address] = entry[1]
            else:
                wanted.append(address)
    if not wanted:
        return Lookup(found)
    try:
        interfaces = {
            address: interface
            for start in range(0, len(wanted), ADDRESSES_PER_CALL)
            for address, interface in _interfaces(ec2, wanted[start : start + ADDRESSES_PER_CALL])
        }
    except BOTOCORE_ERRORS as failure:
        return _failed(found, failure, INTERFACES_ACTION)
    denied = error = ""
    instance_ids = sorted({i.instance_id for i in interfaces.values() if i.instance_id})
    try:
        instances = _instances(ec2, instance_ids)
    except BOTOCORE_ERRORS as failure:  # the interfaces alone still say "EC2 i-…"
        instances = {}
        partial = _failed({}, failure, INSTANCES_ACTION)
        denied, error = partial.denied, partial.error
    resolved = {
        address: classify(interfaces[address], instances) if address in interfaces else OUTSIDE
        for address in wanted
    }
    if not (denied or error):
        with cache.lock:
            cache.entries.update((a, (now, w)) for a, w in resolved.items())
    return Lookup({**found, **resolved}, denied, error)


def _failed(found: dict[str, Workload], error: Exception, action: str) -> Lookup:
    if isinstance(error, ClientError) and error_code(error) in ACCESS_DENIED_CODES:
        return Lookup(found, denied=action)
    return Lookup(found, error=str(aws_error(error, "EC2", action)))


def _interfaces(ec2: EC2Client, addresses: list[str]) -> Iterator[tuple[str, Interface]]:
    wanted = set(addresses)
    pages = ec2.get_paginator("describe_network_interfaces").paginate(
        Filters=[{"Name": "addresses.private-ip-address", "Values": addresses}],
        PaginationConfig={"PageSize": PAGE_SIZE},
    )
    for page in pages:
        for raw in page.get("NetworkInterfaces", []):
            interface = Interface(
                id=raw.get("NetworkInterfaceId", ""),
                interface_type=raw.get("InterfaceType", "interface"),
                description=raw.get("Description", ""),
                requester_id=raw.get("RequesterId", ""),
                instance_id=raw.get("Attachment", {}).get("InstanceId", ""),
                tags={t.get("Key", ""): t.get("Value", "") for t in raw.get("TagSet", [])},
            )
            owned = [a.get("PrivateIpAddress", "") for a in raw.get("PrivateIpAddresses", [])]
            for address in {raw.get("PrivateIpAddress", ""), *owned} & wanted:
                yield address, interface


def _instances(ec2: EC2Client, ids: list[str]) -> dict[str, Instance]:
    """By filter, not InstanceIds: an instance terminated meanwhile is left out, not an error."""
    found: dict[str, Instance] = {}
    for start in range(0, len(ids), INSTANCES_PER_CALL):
        pages = ec2.get_paginator("describe_instances").paginate(
            Filters=[{"Name": "instance-id", "Values": ids[start : start + INSTANCES_PER_CALL]}],
            PaginationConfig={"PageSize": PAGE_SIZE},
        )
        for page in pages:
            for reservation in page.get("Reservations", []):
                for raw in reservation.get("Instances", []):
                    tags = {t.get("Key", ""): t.get("Value", "") for t in raw.get("Tags", [])}
                    found[raw.get("InstanceId", "")] = Instance(raw.get("InstanceId", ""), tags)
    return found
