"""What a person does about each error code (from AWS's documentation of IAM DB auth)."""

from __future__ import annotations

from bot.domain.records import Family, family_of

CODE_HINTS: dict[str, str] = {
    "InvalidToken": (
        "The token was generated for another host, port, region or user, was truncated, "
        "or is not a token at all. Generate it for the exact endpoint, port and user you connect with."
    ),
    "ExpiredToken": (
        "The token is older than 15 minutes: it was cached too long or the client clock is skewed. "
        "Generate a fresh token right before each new connection."
    ),
    "NotAuthorized": (
        "The caller's IAM policy lacks `rds-db:connect` on "
        "`arn:aws:rds-db:<region>:<account>:dbuser:<cluster-resource-id>/<db-user>`, "
        "or the database user lacks the `rds_iam` role."
    ),
    "ThrottlingException": (
        "More than about 200 new IAM-authenticated connections per second. "
        "Pool connections instead of opening one per request."
    ),
    "InternalError": (
        "An error on the AWS side of IAM DB authentication. Retry; open a support case if it persists."
    ),
}

_FAMILY_HINTS: dict[Family, str] = {
    # The metric counts InvalidToken and ExpiredToken alike: the hint must cover both.
    Family.INVALID_TOKEN: (
        "The token is malformed, was generated for another host, port, region or user, or is "
        "older than 15 minutes (cached too long, clock skew). Generate a fresh token for the exact "
        "endpoint, port and user right before each new connection."
    ),
    Family.INSUFFICIENT_PERMISSIONS: CODE_HINTS["NotAuthorized"],
    Family.THROTTLING: CODE_HINTS["ThrottlingException"],
    Family.SERVER_ERROR: CODE_HINTS["InternalError"],
    Family.OTHER: "An error code iamauth does not know yet: read the sample lines.",
}


def hint_for_code(code: str) -> str:
    return CODE_HINTS.get(code) or _FAMILY_HINTS[family_of(code)]


def hint_for_family(family: Family) -> str:
    return _FAMILY_HINTS[family]
