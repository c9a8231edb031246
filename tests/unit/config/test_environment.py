from __future__ import annotations

import pytest

from bot.config import DEFAULT_DATABASE_URL, DEFAULT_SLACK_API_URL, ConfigError
from bot.config.environment import Environment, read_environment
from bot.ops import redact


def test_defaults_and_empty_variables_count_as_unset() -> None:
    empty = {name: "" for name in ("SLACK_BOT_TOKEN", "PORT", "AWS_REGION", "IAMAUTH_CONFIG")}
    assert read_environment({}) == read_environment(empty) == Environment()
    assert Environment().slack_api_url == DEFAULT_SLACK_API_URL
    assert Environment().database_url == DEFAULT_DATABASE_URL


def test_values_as_the_settings_use_them() -> None:
    environment = read_environment(
        {
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "PORT": "8080",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_PROFILE": "ops",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
            "IAMAUTH_CONFIG": "/etc/iamauth.toml",
        }
    )
    assert environment.slack_api_url == "http://127.0.0.1:9/api/"
    assert environment.port == 8080
    assert (environment.aws_region, environment.aws_profile) == ("eu-west-1", "ops")
    assert environment.aws_endpoint_url == "http://127.0.0.1:5000"
    assert environment.config_path == "/etc/iamauth.toml"
    both = {"AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "eu-west-1"}
    assert read_environment(both).aws_region == "us-east-2"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "eighty"}, "PORT must be a number, not 'eighty'."),
        (
            {"AWS_ENDPOINT_URL": "localhost:5000"},
            "AWS_ENDPOINT_URL must be a URL like https://host:port, not 'localhost:5000'.",
        ),
        (
            {"AWS_ENDPOINT_URL": "ftp://" + "x" * 200},
            f"AWS_ENDPOINT_URL must be a URL like https://host:port, not {('ftp://' + 'x' * 94)!r}.",
        ),
    ],
)
def test_wrong_values_are_refused_at_start(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        read_environment(env)
    assert str(error.value) == message


def test_secrets_are_redacted_from_then_on_and_never_printed() -> None:
    secret = "plain-signing-value-4f1e9c2a7b"
    password = "db-password-8c3e"
    assert secret in redact.redact(f"signed with {secret}")
    environment = read_environment(
        {
            "SLACK_SIGNING_SECRET": secret,
            "DATABASE_URL": f"postgresql://iamauth:{password}@db/iamauth",
        }
    )
    assert environment.slack_signing_secret == secret
    assert secret not in redact.redact(f"signed with {secret}")
    assert secret not in repr(environment)
    assert password not in repr(environment)
