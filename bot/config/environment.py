"""The settings read from environment variables, checked where a wrong value would fail later."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bot.config.errors import ConfigError
from bot.ops import redact

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///iamauth.db"
SECRETS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "AWS_SECRET_ACCESS_KEY")


@dataclass(frozen=True)
class Environment:
    # Secrets (tokens, a password inside DATABASE_URL) are left out of repr, even in a traceback.
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    port: int = 3000
    aws_region: str | None = None  # AWS_REGION, else AWS_DEFAULT_REGION; else the file's [aws]
    aws_profile: str | None = None
    aws_endpoint_url: str | None = None
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)
    config_path: str | None = None  # IAMAUTH_CONFIG


def read_environment(env: Mapping[str, str]) -> Environment:
    """An empty variable counts as unset. The secrets are registered with the redactor first, so
    that no log line written from here on can show them."""
    redact.register_secrets(env.get(name) for name in SECRETS)
    api_url = env.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    return Environment(
        slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
        slack_app_token=env.get("SLACK_APP_TOKEN") or None,
        slack_api_url=api_url if api_url.endswith("/") else api_url + "/",
        port=_port(env.get("PORT")),
        aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
        aws_profile=env.get("AWS_PROFILE") or None,
        aws_endpoint_url=_endpoint_url(env.get("AWS_ENDPOINT_URL")),
        database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        config_path=env.get("IAMAUTH_CONFIG") or None,
    )


def _port(value: str | None) -> int:
    try:
        return int(value or 3000)
    except ValueError:
        raise ConfigError(f"PORT must be a number, not {value!r}.") from None


def _endpoint_url(value: str | None) -> str | None:
    """AWS_ENDPOINT_URL, refused at start when boto3 could not use it."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(
            f"AWS_ENDPOINT_URL must be a URL like https://host:port, not {value[:100]!r}."
        )
    return value
