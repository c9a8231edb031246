"""What a client address is, in the words people use: the EC2 instance (Name tag, Auto Scaling
group), the ECS task's service, the Lambda function, the EKS node, the NAT gateway…

The address belongs to a network interface of the account's VPCs; the interface's fields say who
made it (what AWS itself writes there, as seen on real accounts):

- EC2 instance: attached (`Attachment.InstanceId`), owned by the account; the instance's tags give
  `Name`, `aws:autoscaling:groupName` and, for EKS nodes, `eks:cluster-name` /
  `kubernetes.io/cluster/<name>` / `eks:nodegroup-name`. The VPC CNI's extra interfaces on a node
  carry pod addresses and say `aws-K8S-i-…`: those are the node's too.
- ECS task (awsvpc): `Description` `arn:aws:ecs:<region>:<account>:attachment/<id>`, requester-
  managed; ECS tags it `aws:ecs:clusterName` / `aws:ecs:serviceName` where it does.
- Lambda: `InterfaceType` `lambda`, `Description` `AWS Lambda VPC ENI-<function>-<uuid>` (or no
  uuid); shared by the function's invocations.
- EKS pod with its own security groups: `InterfaceType` `branch`.
- NAT gateway (`nat_gateway`), VPC endpoint (`vpc_endpoint`), load balancer (`ELB app/…`,
  `ELB net/…`, `ELB <name>`), RDS Proxy (`…DBProxy…`), RDS itself (`RDSNetworkInterface`).
- Anything else: the interface id and its description.

An address no interface has is outside the account's VPCs (a peered VPC, on-premises, another
account). `[local]` and host names (MySQL may log names) are not looked up. Everything taken from
AWS here (tags, descriptions) was written by someone: views escape it.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field


class WorkloadKind(enum.StrEnum):
    EC2_INSTANCE = "ec2-instance"
    EKS_NODE = "eks-node"
    EKS_POD = "eks-pod"
    ECS_TASK = "ecs-task"
    LAMBDA = "lambda-function"
    NAT_GATEWAY = "nat-gateway"
    VPC_ENDPOINT = "vpc-endpoint"
    LOAD_BALANCER = "load-balancer"
    RDS_PROXY = "rds-proxy"
    RDS = "rds"
    INTERFACE = "network-interface"  # none of the above: the interface itself
    OUTSIDE = "outside-vpcs"  # no interface of the account has the address


@dataclass(frozen=True)
class Interface:
    """The fields of a DescribeNetworkInterfaces entry that say what made it."""

    id: str
    interface_type: str = "interface"
    description: str = ""
    requester_id: str = ""
    instance_id: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Instance:
    id: str
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Workload:
    kind: WorkloadKind
    id: str = ""  # i-…, the function name, nat-…, eni-…
    name: str = ""  # the Name tag, the ECS service, the load balancer
    group: str = ""  # the Auto Scaling group, the EKS node group
    cluster: str = ""  # the ECS or EKS cluster
    interface: str = ""  # the eni-… the address is on
    description: str = ""  # the interface's, for kinds the fields above do not name


OUTSIDE = Workload(WorkloadKind.OUTSIDE)

_LAMBDA = re.compile(
    r"\AAWS Lambda VPC ENI-(?P<name>.+?)(?:-[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})?\Z"
)
_ECS_ATTACHMENT = re.compile(r"\Aarn:aws[a-z-]*:ecs:[^:]*:[0-9]*:attachment/(?P<id>\S+)\Z")
_K8S_NODE = re.compile(r"\Aaws-K8S-(?P<instance>i-[0-9a-f]+)\Z", re.IGNORECASE)
_ELB = re.compile(r"\AELB (?:(?:app|net|gwy)/)?(?P<name>[^/\s]+)")
_ID = re.compile(r"\b(?P<id>(?:nat|vpce)-[0-9a-f]+)\b")
_EKS_CLUSTER_TAG = "kubernetes.io/cluster/"


def looked_up(address: str) -> bool:
    """Whether DescribeNetworkInterfaces can find the address: IPv4 literals only (its address
    filter is IPv4; host names and `[local]` stay as they are)."""
    try:
        return ipaddress.ip_address(address).version == 4
    except ValueError:
        return False


def classify(interface: Interface, instances: Mapping[str, Instance]) -> Workload:
    """What `interface` belongs to; `instances` holds the instances it may be attached to."""
    description, kind = interface.description, interface.interface_type
    eni = interface.id
    node = _K8S_NODE.match(description)
    instance_id = interface.instance_id or (node.group("instance") if node else "")
    if instance_id:
        return _instance(instance_id, instances.get(instance_id), eni)
    if kind == "lambda" or description.startswith("AWS Lambda VPC ENI"):
        found = _LAMBDA.match(description)
        return Workload(WorkloadKind.LAMBDA, found.group("name") if found else "", interface=eni)
    if kind == "branch":
        cluster = interface.tags.get("vpcresources.k8s.aws/cluster-name", "")
        return Workload(WorkloadKind.EKS_POD, eni, cluster=cluster, interface=eni)
    ecs = _ECS_ATTACHMENT.match(description)
    if ecs or "aws:ecs:serviceName" in interface.tags:
        return Workload(
            WorkloadKind.ECS_TASK,
            ecs.group("id") if ecs else "",
            name=interface.tags.get("aws:ecs:serviceName", ""),
            cluster=interface.tags.get("aws:ecs:clusterName", ""),
            interface=eni,
        )
    if kind == "nat_gateway" or kind == "vpc_endpoint":
        found_id = _ID.search(description)
        return Workload(
            WorkloadKind.NAT_GATEWAY if kind == "nat_gateway" else WorkloadKind.VPC_ENDPOINT,
            found_id.group("id") if found_id else "",
            interface=eni,
        )
    elb = _ELB.match(description)
    if elb:
        return Workload(WorkloadKind.LOAD_BALANCER, name=elb.group("name"), interface=eni)
    if "DBProxy" in description:
        return Workload(WorkloadKind.RDS_PROXY, description=description, interface=eni)
    if description == "RDSNetworkInterface":
        return Workload(WorkloadKind.RDS, interface=eni)
    return Workload(WorkloadKind.INTERFACE, eni, description=description, interface=eni)


def _instance(instance_id: str, instance: Instance | None, eni: str) -> Workload:
    tags = instance.tags if instance else {}
    cluster = tags.get("eks:cluster-name", "") or next(
        (k[len(_EKS_CLUSTER_TAG) :] for k in tags if k.startswith(_EKS_CLUSTER_TAG)), ""
    )
    if cluster:
        return Workload(
            WorkloadKind.EKS_NODE,
            instance_id,
            name=tags.get("Name", ""),
            group=tags.get("eks:nodegroup-name", "") or tags.get("aws:autoscaling:groupName", ""),
            cluster=cluster,
            interface=eni,
        )
    return Workload(
        WorkloadKind.EC2_INSTANCE,
        instance_id,
        name=tags.get("Name", ""),
        group=tags.get("aws:autoscaling:groupName", ""),
        interface=eni,
    )


def describe(workload: Workload) -> str:
    """Plain words, untrusted parts included as they are (renderers escape):
    `EC2 i-0abc (checkout-api, ASG checkout-asg)`."""
    kind = workload.kind
    details = [d for d in (workload.name, _labelled("ASG", workload.group)) if d]
    if kind is WorkloadKind.EC2_INSTANCE:
        return _with(f"EC2 {workload.id}", details)
    if kind is WorkloadKind.EKS_NODE:
        group = _labelled("node group", workload.group)
        parts = [p for p in (workload.name, group) if p]
        return _with(f"EKS node {workload.id} of cluster {workload.cluster}", parts)
    if kind is WorkloadKind.EKS_POD:
        where = f" of cluster {workload.cluster}" if workload.cluster else ""
        return f"EKS pod interface {workload.id}{where}"
    if kind is WorkloadKind.ECS_TASK:
        service = f"ECS service {workload.name}" if workload.name else "ECS task"
        where = f" (cluster {workload.cluster})" if workload.cluster else ""
        task = f", attachment {workload.id}" if workload.id and not workload.name else ""
        return f"{service}{where}{task}"
    if kind is WorkloadKind.LAMBDA:
        return f"Lambda {workload.id}" if workload.id else "a Lambda function"
    if kind is WorkloadKind.NAT_GATEWAY:
        return f"NAT gateway {workload.id}".rstrip()
    if kind is WorkloadKind.VPC_ENDPOINT:
        return f"VPC endpoint {workload.id}".rstrip()
    if kind is WorkloadKind.LOAD_BALANCER:
        return f"load balancer {workload.name}"
    if kind is WorkloadKind.RDS_PROXY:
        return f"RDS Proxy ({workload.description})"
    if kind is WorkloadKind.RDS:
        return f"an RDS database ({workload.interface})"
    if kind is WorkloadKind.OUTSIDE:
        return "outside this account's VPCs"
    note = f" ({workload.description})" if workload.description else ""
    return f"network interface {workload.id}{note}"


def _labelled(label: str, value: str) -> str:
    return f"{label} {value}" if value else ""


def _with(head: str, details: list[str]) -> str:
    return f"{head} ({', '.join(details)})" if details else head


def names_of(workloads: Mapping[str, Workload]) -> dict[str, str]:
    """What each looked-up address is, for prose (the fix lines); an address outside the
    account's VPCs keeps its bare form."""
    return {
        address: describe(workload)
        for address, workload in workloads.items()
        if workload.kind is not WorkloadKind.OUTSIDE
    }
