"""Network interfaces classified by the fields AWS writes on them."""

from __future__ import annotations

import pytest

from bot.domain.workloads import (
    OUTSIDE,
    Instance,
    Interface,
    Workload,
    WorkloadKind,
    classify,
    describe,
    looked_up,
)

NODE = Instance(
    "i-0node",
    {
        "Name": "prod-ng-a",
        "eks:cluster-name": "prod",
        "eks:nodegroup-name": "ng-a",
        "aws:autoscaling:groupName": "eks-ng-a-1234",
    },
)
SELF_MANAGED_NODE = Instance("i-0self", {"kubernetes.io/cluster/legacy": "owned"})
WEB = Instance("i-0web", {"Name": "web", "aws:autoscaling:groupName": "web-asg"})
INSTANCES = {i.id: i for i in (NODE, SELF_MANAGED_NODE, WEB)}


@pytest.mark.parametrize(
    ("interface", "text"),
    [
        (Interface("eni-1", instance_id="i-0web"), "EC2 i-0web (web, ASG web-asg)"),
        (Interface("eni-1", instance_id="i-0gone"), "EC2 i-0gone"),  # not described
        (
            Interface("eni-2", instance_id="i-0node"),
            "EKS node i-0node of cluster prod (prod-ng-a, node group ng-a)",
        ),
        # The VPC CNI's extra interface: pod addresses, the node's own.
        (
            Interface("eni-3", description="aws-K8S-i-0node", instance_id="i-0node"),
            "EKS node i-0node of cluster prod (prod-ng-a, node group ng-a)",
        ),
        (Interface("eni-3", instance_id="i-0self"), "EKS node i-0self of cluster legacy"),
        (
            Interface(
                "eni-4",
                interface_type="branch",
                description="aws-k8s-branch-eni",
                tags={"vpcresources.k8s.aws/cluster-name": "prod"},
            ),
            "EKS pod interface eni-4 of cluster prod",
        ),
        (
            Interface(
                "eni-5",
                description="arn:aws:ecs:eu-west-1:123456789012:attachment/9f1e-77",
                requester_id="578734482556",
                tags={"aws:ecs:serviceName": "checkout", "aws:ecs:clusterName": "prod"},
            ),
            "ECS service checkout (cluster prod)",
        ),
        (
            Interface("eni-5", description="arn:aws:ecs:eu-west-1:123456789012:attachment/9f1e"),
            "ECS task, attachment 9f1e",
        ),
        (
            Interface(
                "eni-6",
                interface_type="lambda",
                description="AWS Lambda VPC ENI-billing-nightly-3c0e5b2d-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
            ),
            "Lambda billing-nightly",
        ),
        (
            Interface("eni-6", interface_type="lambda", description="AWS Lambda VPC ENI-report"),
            "Lambda report",
        ),
        (
            Interface(
                "eni-7",
                interface_type="nat_gateway",
                description="Interface for NAT Gateway nat-0a1b2c",
            ),
            "NAT gateway nat-0a1b2c",
        ),
        (
            Interface(
                "eni-8",
                interface_type="vpc_endpoint",
                description="VPC Endpoint Interface vpce-0123abc",
            ),
            "VPC endpoint vpce-0123abc",
        ),
        (
            Interface("eni-9", description="ELB app/checkout-alb/50dc6c495c0c9188"),
            "load balancer checkout-alb",
        ),
        (
            Interface("eni-9", interface_type="network_load_balancer", description="ELB net/nlb/1"),
            "load balancer nlb",
        ),
        (Interface("eni-a", description="ELB classic-lb"), "load balancer classic-lb"),
        (
            Interface("eni-b", description="Network interface for DBProxy orders-proxy"),
            "RDS Proxy (Network interface for DBProxy orders-proxy)",
        ),
        (Interface("eni-c", description="RDSNetworkInterface"), "an RDS database (eni-c)"),
        (Interface("eni-d", description="my tool"), "network interface eni-d (my tool)"),
        (Interface("eni-e"), "network interface eni-e"),
    ],
)
def test_each_kind_of_interface_is_named(interface: Interface, text: str) -> None:
    assert describe(classify(interface, INSTANCES)) == text


def test_an_ecs_interface_keeps_its_cluster_and_service() -> None:
    found = classify(
        Interface(
            "eni-5",
            description="arn:aws:ecs:us-east-1:1:attachment/abc",
            tags={"aws:ecs:serviceName": "svc", "aws:ecs:clusterName": "c"},
        ),
        {},
    )
    assert found == Workload(
        WorkloadKind.ECS_TASK, "abc", name="svc", cluster="c", interface="eni-5"
    )


def test_outside_is_said_so() -> None:
    assert describe(OUTSIDE) == "outside this account's VPCs"


@pytest.mark.parametrize(
    ("address", "asked"),
    [
        ("10.0.1.67", True),
        ("[local]", False),
        ("db.example.com", False),
        ("2600:1f18::7", False),  # the address filter is IPv4
        ("", False),
    ],
)
def test_only_ipv4_addresses_are_looked_up(address: str, asked: bool) -> None:
    assert looked_up(address) is asked
