"""Which clients answer for a cluster or DB instance: the place holding it, among the targets
(bot/adapters/aws/targets.py), or the process's own clients where no targets are given."""

from __future__ import annotations

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.targets import Targets
from bot.domain.address import Address


def as_address(cluster: str | Address) -> Address:
    """Callers may name a cluster or DB instance by its identifier alone (`prod-db`)."""
    return cluster if isinstance(cluster, Address) else Address(cluster)


def locate(aws: AwsClients, targets: Targets | None, address: Address) -> tuple[AwsClients, str]:
    """The clients of the place holding the database, and its label ("" with one place)."""
    if targets is None:
        return aws, ""
    return targets.locate(address, aws)
