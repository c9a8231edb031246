"""Typed records read from the `iam-db-auth-error` log."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Family(enum.StrEnum):
    """The failure families, as CloudWatch counts them in the `IamDbAuthConnectionFailure*` metrics."""

    INVALID_TOKEN = "InvalidToken"
    INSUFFICIENT_PERMISSIONS = "InsufficientPermissions"
    THROTTLING = "Throttling"
    SERVER_ERROR = "ServerError"
    OTHER = "Other"


# Raw error codes documented by AWS, mapped to the family whose metric counts them.
# Codes not listed here are kept under their own name and counted as Family.OTHER.
CODE_FAMILIES: dict[str, Family] = {
    "InvalidToken": Family.INVALID_TOKEN,
    "ExpiredToken": Family.INVALID_TOKEN,
    "NotAuthorized": Family.INSUFFICIENT_PERMISSIONS,
    "ThrottlingException": Family.THROTTLING,
    "InternalError": Family.SERVER_ERROR,
}


def family_of(code: str) -> Family:
    return CODE_FAMILIES.get(code, Family.OTHER)


@dataclass(frozen=True, slots=True)
class AuthFailure:
    """One failed IAM-authenticated connection attempt."""

    time: datetime  # UTC-aware
    level: str
    user: str
    reason: str
    status: int | None
    code: str
    caller_arn: str | None = None

    @property
    def family(self) -> Family:
        return family_of(self.code)
