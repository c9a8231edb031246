"""The workloads behind client addresses, written into the AWS emulator: a VPC and subnet, EC2
instances (Name and Auto Scaling group tags, the instance's primary address), and interfaces
shaped as ECS and Lambda make them (their descriptions and tags; the emulator keeps every
interface's type `interface`, so the Lambda one is told by its description).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import TagSpecificationTypeDef

VPC_CIDR = "10.0.0.0/16"
SUBNET_CIDR = "10.0.0.0/20"  # 10.0.0.0 to 10.0.15.255: the seeded client addresses
IMAGE = "ami-12c6146b"  # one of the emulator's built-in images
ACCOUNT = "123456789012"  # the emulator's account


@dataclass(frozen=True)
class SeededWorkloads:
    # address → (Name tag, Auto Scaling group)
    instances: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # address → (ECS cluster, ECS service)
    ecs_tasks: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # address → Lambda function name
    functions: Mapping[str, str] = field(default_factory=dict)


DEMO_WORKLOADS = SeededWorkloads(
    instances={
        "10.0.1.67": ("app-web-1", "app-web-asg"),
        "10.0.1.68": ("app-web-2", "app-web-asg"),
    },
    ecs_tasks={"10.0.2.8": ("prod", "checkout"), "10.0.2.9": ("prod", "checkout")},
    functions={"10.0.3.21": "billing-nightly"},
)


def seed_workloads(ec2: EC2Client, workloads: SeededWorkloads, region: str) -> dict[str, str]:
    """Creates them; returns address → the instance or interface id made for it."""
    vpc = ec2.create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=SUBNET_CIDR)["Subnet"]["SubnetId"]
    made: dict[str, str] = {}
    for address, (name, group) in workloads.instances.items():
        tags: TagSpecificationTypeDef = {
            "ResourceType": "instance",
            "Tags": [
                {"Key": "Name", "Value": name},
                {"Key": "aws:autoscaling:groupName", "Value": group},
            ],
        }
        run = ec2.run_instances(
            ImageId=IMAGE,
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet,
            PrivateIpAddress=address,
            TagSpecifications=[tags],
        )
        made[address] = run["Instances"][0]["InstanceId"]
    for address, (cluster, service) in workloads.ecs_tasks.items():
        interface = ec2.create_network_interface(
            SubnetId=subnet,
            PrivateIpAddress=address,
            Description=f"arn:aws:ecs:{region}:{ACCOUNT}:attachment/{_uuid(address)}",
            TagSpecifications=[
                {
                    "ResourceType": "network-interface",
                    "Tags": [
                        {"Key": "aws:ecs:clusterName", "Value": cluster},
                        {"Key": "aws:ecs:serviceName", "Value": service},
                    ],
                }
            ],
        )
        made[address] = interface["NetworkInterface"]["NetworkInterfaceId"]
    for address, function in workloads.functions.items():
        interface = ec2.create_network_interface(
            SubnetId=subnet,
            PrivateIpAddress=address,
            Description=f"AWS Lambda VPC ENI-{function}-{_uuid(address)}",
        )
        made[address] = interface["NetworkInterface"]["NetworkInterfaceId"]
    return made


def _uuid(address: str) -> uuid.UUID:
    """A stable id per address, as ECS and Lambda put one in their descriptions."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"iamauth-demo/{address}")
