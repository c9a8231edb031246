"""Errors the AWS adapters raise, worded for the person who asked."""

from __future__ import annotations


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
