"""Errors the AWS adapters raise, worded for the person who asked.

botocore's exceptions stop at the adapters (bot/adapters/aws/*.py): `aws_error` turns each into one
of these, with one plain sentence, so that neither a Slack reply nor a terminal shows a traceback.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConfigNotFound,
    ConfigParseError,
    ConnectionError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    HTTPClientError,
    InvalidConfigError,
    InvalidRegionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOError,
    TokenRetrievalError,
    UnknownCredentialError,
)
from botocore.retries.standard import RetryContext, ThrottledRetryableChecker

# What the adapters catch around a call: everything botocore raises.
BOTOCORE_ERRORS = (BotoCoreError, ClientError)


class AwsError(Exception):
    """Something on the AWS side stopped the answer; `str()` is one plain sentence."""


class AwsSetupError(AwsError):
    """The AWS settings on this side are missing or wrong (region, credentials, profile,
    endpoint): nothing was asked of AWS. The CLI exits 2 for it, like any configuration error."""


class CredentialsRefused(AwsError):
    """AWS (or the credential source) refused the credentials: expired or invalid."""


class Throttled(AwsError):
    """AWS kept throttling the account after botocore's retries."""


class AwsUnreachable(AwsError):
    """No answer from AWS: connection refused, DNS, TLS, or a timeout."""


class ClusterNotFound(AwsError):
    pass


class AccessDenied(AwsError):
    pass


class LogGroupMissing(AwsError):
    pass


class ClusterBusy(AwsError):
    """The cluster cannot be changed in its current state (modifying, stopped, …)."""

    def __init__(self, cluster: str) -> None:
        super().__init__(
            f"`{cluster}` cannot be changed right now: it is busy or not available "
            "(modifying, stopped, upgrading…)."
        )
        self.cluster = cluster


class ChangeDenied(AccessDenied):
    """The bot may read but not make a change: its IAM policy lacks `action`."""

    def __init__(self, action: str, remedy: str) -> None:
        super().__init__(f"The bot may not call {action} ({remedy}).")
        self.action = action
        self.remedy = remedy


ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
EXPIRED_CREDENTIAL_CODES = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
)
INVALID_CREDENTIAL_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "IncompleteSignature",
        "InvalidAccessKeyId",
        "AuthFailure",
        "MissingAuthenticationToken",
    }
)

_SETUP_ERRORS = (
    ConfigNotFound,
    ConfigParseError,
    InvalidConfigError,
    UnknownCredentialError,
)


def error_code(error: BaseException) -> str:
    """The AWS error code of a failed call (`AccessDenied`, `DBClusterNotFoundFault`…), or ""."""
    if not isinstance(error, ClientError):
        return ""
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: BaseException) -> str:
    """AWS's own message of a failed call (its words, untrusted text), or ""."""
    if not isinstance(error, ClientError):
        return ""
    return str(error.response.get("Error", {}).get("Message", ""))


_THROTTLING = ThrottledRetryableChecker()


def is_throttling(error: ClientError) -> bool:
    """Whether botocore's own retry rules count the error as throttling."""
    return bool(_THROTTLING.is_retryable(RetryContext(1, parsed_response=error.response)))


def aws_error(error: Exception, service: str, action: str) -> AwsError:
    """The bot's error for `error`, raised while calling `action` (`logs:FilterLogEvents`) of
    `service` (`CloudWatch Logs`), or while building its client."""
    if isinstance(error, ClientError):
        return _refusal(error, service, action)
    if isinstance(error, NoRegionError):
        return AwsSetupError(
            "No AWS region is set: set AWS_REGION, `region` in [aws] of IAMAUTH_CONFIG, or the "
            "profile's region."
        )
    if isinstance(error, InvalidRegionError):
        return AwsSetupError(f"`{error.kwargs.get('region_name')}` is not an AWS region name.")
    if isinstance(error, NoCredentialsError):
        return AwsSetupError(
            "No AWS credentials were found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY), or run where a role provides them."
        )
    if isinstance(error, PartialCredentialsError):
        return AwsSetupError(
            f"The AWS credentials in {error.kwargs.get('provider')} are incomplete: "
            f"{error.kwargs.get('cred_var')} is missing."
        )
    if isinstance(error, ProfileNotFound):
        return AwsSetupError(
            f"The AWS profile `{error.kwargs.get('profile')}` does not exist (AWS_PROFILE, or "
            "`profile` in [aws] of IAMAUTH_CONFIG)."
        )
    if isinstance(error, _SETUP_ERRORS):
        return AwsSetupError(f"The AWS configuration cannot be used ({type(error).__name__}).")
    if isinstance(error, SSOError | TokenRetrievalError):
        return CredentialsRefused(
            "The AWS SSO session is missing or expired: run `aws sso login` and try again."
        )
    if isinstance(error, CredentialRetrievalError):
        return CredentialsRefused(
            f"AWS credentials could not be obtained from {error.kwargs.get('provider')}."
        )
    if isinstance(error, ReadTimeoutError):
        return AwsUnreachable(f"{service} did not answer {action} in time (read timeout).")
    if isinstance(error, ConnectTimeoutError | EndpointConnectionError):
        return AwsUnreachable(
            f"Cannot connect to {service} at {_host(error.kwargs.get('endpoint_url'))}: check "
            "the network, and AWS_ENDPOINT_URL if it is set."
        )
    if isinstance(error, ConnectionError | HTTPClientError):
        return AwsUnreachable(f"The connection to {service} failed ({type(error).__name__}).")
    if isinstance(error, ValueError):
        # What botocore raises for an endpoint URL it cannot use, while building a client; the
        # URL itself is not repeated (it may carry a user and password).
        return AwsSetupError(
            f"The {service} client cannot be built from these settings: check AWS_ENDPOINT_URL."
        )
    return AwsError(f"{action} failed before {service} answered ({type(error).__name__}).")


def _host(url: object) -> str:
    """scheme://host:port of an endpoint URL, without anything else it may carry."""
    parts = urlsplit(str(url or ""))
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}" if parts.netloc else "its endpoint"


def _refusal(error: ClientError, service: str, action: str) -> AwsError:
    code = error_code(error)
    if code in EXPIRED_CREDENTIAL_CODES:
        return CredentialsRefused(
            "The AWS credentials have expired: renew them (a new session, `aws sso login`…) and "
            "try again."
        )
    if code in INVALID_CREDENTIAL_CODES:
        return CredentialsRefused(
            f"AWS does not accept these credentials ({code}): check the access key, the profile "
            "or the role the bot runs with."
        )
    if code in ACCESS_DENIED_CODES:
        return AccessDenied(f"The bot may not call {action}: add it to the bot's IAM policy.")
    if is_throttling(error):
        return Throttled(
            f"AWS is throttling {action} for this account ({code}); try again in a minute."
        )
    api = action.partition(":")[2] or action
    return AwsError(f"{service} answered {code or 'an error'} for {api}.")
