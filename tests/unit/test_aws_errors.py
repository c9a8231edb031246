"""botocore's exceptions become the bot's own errors, each one plain sentence."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    InvalidRegionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    UnauthorizedSSOTokenError,
)

from bot.adapters.aws.errors import (
    AccessDenied,
    AwsError,
    AwsSetupError,
    AwsUnreachable,
    CredentialsRefused,
    Throttled,
    aws_error,
)


def refused(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "AWS's own words"}}, "FilterLogEvents")


@pytest.mark.parametrize(
    ("error", "kind", "words"),
    [
        (refused("ExpiredToken"), CredentialsRefused, "credentials have expired"),
        (refused("ExpiredTokenException"), CredentialsRefused, "credentials have expired"),
        (refused("RequestExpired"), CredentialsRefused, "credentials have expired"),
        (refused("InvalidClientTokenId"), CredentialsRefused, "does not accept these credentials"),
        (refused("UnrecognizedClientException"), CredentialsRefused, "does not accept"),
        (refused("Throttling"), Throttled, "throttling logs:FilterLogEvents"),
        (refused("ThrottlingException"), Throttled, "throttling logs:FilterLogEvents"),
        (refused("TooManyRequestsException"), Throttled, "try again in a minute"),
        (refused("AccessDenied"), AccessDenied, "may not call logs:FilterLogEvents"),
        (refused("AccessDeniedException"), AccessDenied, "may not call logs:FilterLogEvents"),
        (refused("ServiceUnavailable"), AwsError, "CloudWatch Logs answered ServiceUnavailable"),
        (
            ReadTimeoutError(endpoint_url="https://logs.us-east-1.amazonaws.com/"),
            AwsUnreachable,
            "did not answer logs:FilterLogEvents in time",
        ),
        (
            ConnectTimeoutError(endpoint_url="https://logs.us-east-1.amazonaws.com/"),
            AwsUnreachable,
            "Cannot connect to CloudWatch Logs at https://logs.us-east-1.amazonaws.com",
        ),
        (NoRegionError(), AwsSetupError, "No AWS region is set"),
        (InvalidRegionError(region_name="moon 1"), AwsSetupError, "`moon 1` is not an AWS region"),
        (NoCredentialsError(), AwsSetupError, "No AWS credentials were found"),
        (
            PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"),
            AwsSetupError,
            "in env are incomplete: AWS_SECRET_ACCESS_KEY is missing",
        ),
        (ProfileNotFound(profile="ops"), AwsSetupError, "profile `ops` does not exist"),
        (UnauthorizedSSOTokenError(), CredentialsRefused, "aws sso login"),
        (ValueError("Invalid endpoint: x"), AwsSetupError, "check AWS_ENDPOINT_URL"),
    ],
)
def test_each_failure_becomes_the_bots_error(
    error: Exception, kind: type[AwsError], words: str
) -> None:
    translated = aws_error(error, "CloudWatch Logs", "logs:FilterLogEvents")
    assert type(translated) is kind
    assert words in str(translated)
    assert "\n" not in str(translated)
    # Only setup errors (nothing reached AWS) make the CLI exit 2 instead of 3.
    assert isinstance(translated, AwsSetupError) == (kind is AwsSetupError)


def test_an_endpoint_is_shown_without_what_it_carries() -> None:
    error = EndpointConnectionError(endpoint_url="https://user:secret@aws.example:8443/x?token=t")
    message = str(aws_error(error, "RDS", "rds:DescribeDBClusters"))
    assert "https://aws.example:8443" in message
    assert "secret" not in message
    assert "token" not in message


def test_aws_own_message_is_not_repeated() -> None:
    """AWS's message may quote anything (ARNs, user input): the sentence is the bot's own."""
    assert "AWS's own words" not in str(aws_error(refused("AccessDenied"), "RDS", "rds:X"))
