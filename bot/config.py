"""Settings from the environment and the optional TOML file named by IAMAUTH_CONFIG.

Validated once at start: a wrong file is refused with the line (where TOML gives one) and the reason.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.aws.clients import AwsSettings
from bot.aws.logs import DEFAULT_EVENT_CAP
from bot.domain.window import DEFAULT_MAX_WINDOW, WindowError, parse_duration

DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    port: int = 3000
    aws: AwsSettings = field(default_factory=AwsSettings)
    event_cap: int = DEFAULT_EVENT_CAP
    max_window: timedelta = DEFAULT_MAX_WINDOW

    def __repr__(self) -> str:
        # Never print secrets, even by accident in a traceback or a debug log.
        return (
            f"Settings(slack_api_url={self.slack_api_url!r}, port={self.port}, aws={self.aws!r}, "
            f"event_cap={self.event_cap}, max_window={self.max_window})"
        )


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    file_values: dict[str, Any] = {}
    path = env.get("IAMAUTH_CONFIG")
    if path:
        file_values = _read_toml(Path(path))
    aws_file = _table(file_values, "aws")
    limits = _table(file_values, "limits")
    api_url = env.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    try:
        port = int(env.get("PORT") or 3000)
    except ValueError:
        raise ConfigError(f"PORT must be a number, not {env.get('PORT')!r}.") from None
    return Settings(
        slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
        slack_app_token=env.get("SLACK_APP_TOKEN") or None,
        slack_api_url=api_url if api_url.endswith("/") else api_url + "/",
        port=port,
        aws=AwsSettings(
            region=env.get("AWS_REGION")
            or env.get("AWS_DEFAULT_REGION")
            or _str(aws_file, "region"),
            profile=env.get("AWS_PROFILE") or _str(aws_file, "profile"),
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        ),
        event_cap=_positive_int(limits, "event_cap", DEFAULT_EVENT_CAP),
        max_window=_duration(limits, "max_window", DEFAULT_MAX_WINDOW),
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"IAMAUTH_CONFIG: cannot read {path}: {error.strerror}.") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"IAMAUTH_CONFIG: {path} is not valid TOML: {error}.") from None


def _table(values: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    table = values.get(name, {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"IAMAUTH_CONFIG: [{name}] must be a table.")
    return table


def _str(table: Mapping[str, Any], key: str) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"IAMAUTH_CONFIG: {key} must be a string.")
    return value


def _positive_int(table: Mapping[str, Any], key: str, default: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"IAMAUTH_CONFIG: {key} must be a positive whole number.")
    return value


def _duration(table: Mapping[str, Any], key: str, default: timedelta) -> timedelta:
    value = table.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ConfigError(f'IAMAUTH_CONFIG: {key} must be a window like "14d".')
    try:
        return parse_duration(value, maximum=timedelta(days=90))
    except WindowError as error:
        raise ConfigError(f"IAMAUTH_CONFIG: {key}: {error}") from None
