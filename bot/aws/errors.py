"""Errors the AWS adapters raise, worded for the person who asked."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.exceptions import ClientError


class AwsError(Exception):
    """Something on the AWS side stopped the answer; `str()` is one plain sentence."""


class ClusterNotFound(AwsError):
    pass


class AccessDenied(AwsError):
    pass


class LogGroupMissing(AwsError):
    pass


class ClusterBusy(AwsError):
    """The cluster cannot be changed in its current state (modifying, stopped, …)."""


ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
    }
)


def error_code(error: ClientError) -> str:
    """The AWS error code of a failed call (`AccessDenied`, `DBClusterNotFoundFault`…), or ""."""
    return str(error.response.get("Error", {}).get("Code", ""))
