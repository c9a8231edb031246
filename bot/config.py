"""Settings from the environment and the optional TOML file named by IAMAUTH_CONFIG.

Validated once at start: a wrong file is refused with the line (where TOML gives one) and the reason.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot import redact
from bot.aws.clients import AwsSettings
from bot.aws.logs import DEFAULT_EVENT_CAP
from bot.aws.targets import TargetSpec
from bot.domain.access import ANY, AccessPolicy, ClusterAccess
from bot.domain.address import REGION_PATTERN
from bot.domain.alerts import DEFAULT_REPEAT
from bot.domain.identifiers import IdentifierError, validate_cluster_id
from bot.domain.metrics import METRICS_DELAY
from bot.domain.watches import CHANNEL_ID, Watch, WatchError, make_threshold, make_watch
from bot.domain.window import DEFAULT_MAX_WINDOW, WindowError, parse_duration

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///iamauth.db"
WATCH_KEYS = frozenset(
    {"cluster", "channel", "repeat", "send_resolved", "invalid_token", "insufficient_permissions",
     "throttling", "server_error"}
)  # fmt: skip
THRESHOLD_KEYS = frozenset({"count", "window", "periods", "breaching"})
_PRINCIPAL = re.compile(r"\A[UWS][A-Z0-9]{2,20}\Z")


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
    cache_seconds: int = 30
    max_window: timedelta = DEFAULT_MAX_WINDOW
    database_url: str = DEFAULT_DATABASE_URL
    watches: tuple[Watch, ...] = ()
    tick_seconds: int = 60
    metrics_delay: timedelta = METRICS_DELAY
    access: AccessPolicy = field(default_factory=AccessPolicy)
    targets: tuple[TargetSpec, ...] = ()

    def __repr__(self) -> str:
        # Never print secrets (tokens, a password inside DATABASE_URL), even in a traceback.
        return (
            f"Settings(slack_api_url={self.slack_api_url!r}, port={self.port}, aws={self.aws!r}, "
            f"event_cap={self.event_cap}, max_window={self.max_window}, "
            f"watches={len(self.watches)}, tick_seconds={self.tick_seconds})"
        )


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    redact.register_secrets(
        env.get(k)
        for k in (
            "SLACK_BOT_TOKEN",
            "SLACK_SIGNING_SECRET",
            "SLACK_APP_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
        )
    )
    file_values: dict[str, Any] = {}
    text = ""
    path = env.get("IAMAUTH_CONFIG")
    if path:
        text, file_values = _read_toml(Path(path))
    unknown = set(file_values) - {
        "aws", "limits", "scheduler", "watch", "access", "clusters", "target"
    }  # fmt: skip
    if unknown:
        name = sorted(unknown)[0]
        raise ConfigError(f"IAMAUTH_CONFIG line {_line_of(text, name)}: unknown key `{name}`.")
    aws_file = _table(file_values, "aws")
    limits = _table(file_values, "limits")
    scheduler = _table(file_values, "scheduler")
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
        cache_seconds=_positive_int(limits, "cache_seconds", 30, minimum=0, maximum=3600),
        max_window=_duration(limits, "max_window", DEFAULT_MAX_WINDOW),
        database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        watches=_watches(file_values.get("watch", []), text),
        tick_seconds=_positive_int(scheduler, "interval_seconds", 60),
        metrics_delay=_duration(scheduler, "metrics_delay", METRICS_DELAY),
        access=_access(file_values, text),
        targets=_targets(file_values.get("target", []), text),
    )


def _read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError(f"IAMAUTH_CONFIG: cannot read {path}: {reason}.") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"IAMAUTH_CONFIG: {path} is not valid TOML: {error}.") from None


def _line_of(text: str, key: str, watch_index: int | None = None) -> int:
    """The line of `key` (inside the watch_index-th [[watch]] when given), for error messages."""
    lines = text.splitlines()
    start, end = 0, len(lines)
    if watch_index is not None:
        headers = [i for i, line in enumerate(lines) if line.strip().startswith("[[watch]]")]
        if watch_index < len(headers):
            start = headers[watch_index]
            later = [
                i for i, line in enumerate(lines) if i > start and line.strip().startswith("[")
            ]
            end = later[0] if later else len(lines)
    for number in range(start, end):
        stripped = lines[number].strip()
        if stripped.startswith((key, f"[{key}]", f"[[{key}]]")):
            return number + 1
    return start + 1


def _watches(raw: object, text: str) -> tuple[Watch, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"IAMAUTH_CONFIG line {_line_of(text, 'watch')}: use [[watch]] tables.")
    watches: list[Watch] = []
    for index, entry in enumerate(raw):

        def fail(key: str, reason: str, index: int = index) -> ConfigError:
            return ConfigError(f"IAMAUTH_CONFIG line {_line_of(text, key, index)}: {reason}")

        unknown = sorted(set(entry) - WATCH_KEYS)
        if unknown:
            raise fail(unknown[0], f"unknown key `{unknown[0]}` in [[watch]].")
        for key in ("cluster", "channel"):
            if not isinstance(entry.get(key), str):
                raise fail(
                    "[[watch]]" if key not in entry else key,
                    f"[[watch]] needs `{key}` as a string.",
                )
        thresholds = []
        for key in ("invalid_token", "insufficient_permissions", "throttling", "server_error"):
            if key not in entry:
                continue
            spec = entry[key]
            if not isinstance(spec, dict) or set(spec) - THRESHOLD_KEYS:
                raise fail(key, f'{key} must look like {{ count = 5, window = "5m" }}.')
            try:
                thresholds.append(
                    make_threshold(
                        key,
                        spec.get("count"),
                        spec.get("window"),
                        spec.get("periods", 1),
                        spec.get("breaching"),
                    )
                )
            except WatchError as error:
                raise fail(key, str(error)) from None
        try:
            repeat = _duration(entry, "repeat", DEFAULT_REPEAT)
        except ConfigError as error:
            raise fail("repeat", str(error).split(": ", 1)[-1]) from None
        send_resolved = entry.get("send_resolved", True)
        if not isinstance(send_resolved, bool):
            raise fail("send_resolved", "send_resolved must be true or false.")
        try:
            watch = make_watch(
                entry["cluster"], entry["channel"], thresholds,
                repeat=repeat, send_resolved=send_resolved, source="config",
            )  # fmt: skip
        except WatchError as error:
            key = "channel" if "channel" in str(error) else "cluster"
            if "threshold" in str(error):
                key = "[[watch]]"
            raise fail(key, str(error).replace("`", "")) from None
        if any(w.cluster == watch.cluster and w.channel == watch.channel for w in watches):
            raise fail("cluster", f"{watch.cluster} is watched twice for {watch.channel}.")
        watches.append(watch)
    return tuple(watches)


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


def _positive_int(
    table: Mapping[str, Any],
    key: str,
    default: int,
    *,
    minimum: int = 1,
    maximum: int | None = None,
) -> int:
    value = table.get(key, default)
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        what = (
            "a positive whole number"
            if maximum is None
            else f"a whole number from {minimum} to {maximum}"
        )
        raise ConfigError(f"IAMAUTH_CONFIG: {key} must be {what}.")
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


def _id_list(
    table: Mapping[str, Any],
    key: str,
    pattern: re.Pattern[str],
    what: str,
    text: str,
    allow_any: bool,
) -> frozenset[str] | None:
    if key not in table:
        return None
    values = table[key]
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ConfigError(
            f"IAMAUTH_CONFIG line {_line_of(text, key)}: {key} must be a list of strings."
        )
    for value in values:
        if not (pattern.match(value) or (allow_any and value == ANY)):
            raise ConfigError(
                f"IAMAUTH_CONFIG line {_line_of(text, key)}: {value!r} is not {what}."
            )
    return frozenset(values)


def _access(values: Mapping[str, Any], text: str) -> AccessPolicy:
    """[access] admins/channels and [clusters.<name>] channels/owners."""
    if "access" not in values and "clusters" not in values:
        return AccessPolicy()
    access = _table(values, "access")
    unknown = sorted(set(access) - {"admins", "channels"})
    if unknown:
        raise ConfigError(
            f"IAMAUTH_CONFIG line {_line_of(text, unknown[0])}: unknown key `{unknown[0]}` in [access]."
        )
    people = "a Slack user id (U…) or user group id (S…)"
    admins = _id_list(access, "admins", _PRINCIPAL, people, text, allow_any=False) or frozenset()
    channels = _id_list(
        access, "channels", CHANNEL_ID, 'a channel id (C…) or "*"', text, allow_any=True
    )
    clusters: dict[str, ClusterAccess] = {}
    for name, rule in _table(values, "clusters").items():
        where = f"IAMAUTH_CONFIG line {_line_of(text, f'[clusters.{name}]')}"
        try:
            cluster = validate_cluster_id(name)
        except IdentifierError as error:
            raise ConfigError(f"{where}: {error}".replace("`", "")) from None
        if not isinstance(rule, Mapping) or set(rule) - {"channels", "owners"}:
            raise ConfigError(f"{where}: [clusters.{name}] takes `channels` and `owners`.")
        clusters[cluster] = ClusterAccess(
            channels=_id_list(
                rule, "channels", CHANNEL_ID, 'a channel id (C…) or "*"', text, allow_any=True
            ),
            owners=_id_list(rule, "owners", _PRINCIPAL, people, text, allow_any=False)
            or frozenset(),
        )
    return AccessPolicy(
        enforced=True,
        admins=admins,
        channels=channels if channels is not None else frozenset({ANY}),
        clusters=clusters,
    )


_ROLE_ARN = re.compile(r"\Aarn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}\Z")


def _targets(raw: object, text: str) -> tuple[TargetSpec, ...]:
    """[[target]] name, regions, and optionally role_arn, external_id, session_name."""
    if not isinstance(raw, list):
        raise ConfigError(f"IAMAUTH_CONFIG line {_line_of(text, 'target')}: use [[target]] tables.")
    specs: list[TargetSpec] = []
    for entry in raw:
        where = f"IAMAUTH_CONFIG line {_line_of(text, '[[target]]')}"
        unknown = sorted(
            set(entry) - {"name", "regions", "role_arn", "external_id", "session_name"}
        )
        if unknown:
            raise ConfigError(f"{where}: unknown key `{unknown[0]}` in [[target]].")
        regions = entry.get("regions")
        if (
            not isinstance(regions, list)
            or not regions
            or not all(isinstance(r, str) and REGION_PATTERN.match(r) for r in regions)
        ):
            raise ConfigError(
                f'{where}: regions must be a list of AWS regions, like ["us-east-1"].'
            )
        role = entry.get("role_arn")
        if role is not None and not (isinstance(role, str) and _ROLE_ARN.match(role)):
            raise ConfigError(f"{where}: role_arn must be an IAM role ARN.")
        name = entry.get("name", f"target{len(specs) + 1}")
        if not isinstance(name, str) or any(s.name == name for s in specs):
            raise ConfigError(f"{where}: each [[target]] needs its own name.")
        for key in ("external_id", "session_name"):
            if key in entry and not isinstance(entry[key], str):
                raise ConfigError(f"{where}: {key} must be a string.")
        specs.append(
            TargetSpec(
                name,
                tuple(regions),
                role,
                entry.get("external_id"),
                entry.get("session_name", "iamauth"),
            )
        )
    return tuple(specs)
