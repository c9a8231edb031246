"""Settings from the environment and the optional TOML file named by IAMAUTH_CONFIG.

Validated once at start: a wrong file is refused with the line of the wrong table, key or item
(bot/toml_lines.py finds it), the table it is in, and the reason.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.adapters.aws.clients import AwsSettings
from bot.adapters.aws.cloudwatch_logs import DEFAULT_EVENT_CAP
from bot.adapters.aws.targets import TargetSpec
from bot.domain.access import ANY, AccessPolicy, ClusterAccess
from bot.domain.address import REGION_PATTERN
from bot.domain.alerts import DEFAULT_REPEAT
from bot.domain.identifiers import IdentifierError, validate_cluster_id
from bot.domain.metrics import METRICS_DELAY
from bot.domain.user_rate import DEFAULT_USER_RATE, UserRate, parse_user_rate
from bot.domain.watches import (
    CHANNEL_ID,
    Watch,
    WatchError,
    make_threshold,
    make_watch,
    validate_channel,
)
from bot.domain.window import DEFAULT_MAX_WINDOW, WindowError, parse_duration
from bot.ops import redact
from bot.toml_lines import TomlLines

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///iamauth.db"
TABLES = frozenset({"aws", "limits", "scheduler", "watch", "access", "clusters", "target"})
WATCH_KEYS = frozenset(
    {"cluster", "channel", "repeat", "send_resolved", "invalid_token", "insufficient_permissions",
     "throttling", "server_error"}
)  # fmt: skip
THRESHOLD_KEYS = frozenset({"count", "window", "periods", "breaching"})
TARGET_KEYS = frozenset({"name", "regions", "role_arn", "external_id", "session_name"})
_PRINCIPAL = re.compile(r"\A[UWS][A-Z0-9]{2,20}\Z")
_ROLE_ARN = re.compile(r"\Aarn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}\Z")
_PEOPLE = "a Slack user id (U…) or user group id (S…)"
_CHANNELS = 'a channel id (C…) or "*"'


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
    user_rate: UserRate = DEFAULT_USER_RATE  # AWS-reading commands per person

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
    path = env.get("IAMAUTH_CONFIG")
    file = _read_toml(Path(path)) if path else _File("", {})
    unknown = sorted(set(file.values) - TABLES)
    if unknown:
        raise file.error((unknown[0],), f"unknown key `{unknown[0]}`.")
    aws_file = file.table("aws", {"region", "profile"})
    limits = file.table("limits", {"event_cap", "cache_seconds", "max_window", "user_rate"})
    scheduler = file.table("scheduler", {"interval_seconds", "metrics_delay"})
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
            or aws_file.string("region"),
            profile=env.get("AWS_PROFILE") or aws_file.string("profile"),
            endpoint_url=_endpoint_url(env.get("AWS_ENDPOINT_URL")),
        ),
        event_cap=limits.whole("event_cap", DEFAULT_EVENT_CAP),
        cache_seconds=limits.whole("cache_seconds", 30, minimum=0, maximum=3600),
        max_window=limits.duration("max_window", DEFAULT_MAX_WINDOW),
        database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        watches=_watches(file),
        tick_seconds=scheduler.whole("interval_seconds", 60),
        metrics_delay=scheduler.duration("metrics_delay", METRICS_DELAY),
        access=_access(file),
        targets=_targets(file),
        user_rate=_user_rate(limits),
    )


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


def _user_rate(limits: _Table) -> UserRate:
    text = limits.string("user_rate")
    try:
        return DEFAULT_USER_RATE if text is None else parse_user_rate(text)
    except ValueError as error:
        raise limits.error(f"[limits] user_rate: {error}".replace("`", ""), "user_rate") from None


@dataclass(frozen=True)
class _File:
    """The file's text and values; errors name the line of the path they are about."""

    text: str
    values: Mapping[str, Any]

    def error(self, path: tuple[str | int, ...], reason: str) -> ConfigError:
        return ConfigError(f"IAMAUTH_CONFIG line {TomlLines(self.text).line(path)}: {reason}")

    def table(self, name: str, keys: Collection[str] | None = None) -> _Table:
        """The `[name]` table; with `keys`, a key not among them is refused (a typo)."""
        values = self.values.get(name, {})
        if not isinstance(values, Mapping):
            raise self.error((name,), f"[{name}] must be a table.")
        table = _Table(self, (name,), f"[{name}]", values)
        if keys is not None:
            table.refuse_unknown(keys)
        return table

    def tables(self, name: str) -> list[_Table]:
        """The `[[name]]` tables, in file order."""
        raw = self.values.get(name, [])
        if not isinstance(raw, list):
            raise self.error((name,), f"use [[{name}]] tables.")
        tables = []
        for index, entry in enumerate(raw):
            if not isinstance(entry, Mapping):
                raise self.error((name, index), f"use [[{name}]] tables.")
            tables.append(_Table(self, (name, index), f"[[{name}]]", entry))
        return tables


@dataclass(frozen=True)
class _Table:
    """One table of the file: its path (for the line), its name in messages, its values."""

    file: _File
    path: tuple[str | int, ...]
    label: str
    values: Mapping[str, Any]

    def error(self, reason: str, *keys: str | int) -> ConfigError:
        """An error at `keys` inside this table (at its header when none or missing)."""
        return self.file.error(self.path + keys, reason)

    def refuse_unknown(self, known: Collection[str]) -> None:
        unknown = sorted(set(self.values) - set(known))
        if unknown:
            raise self.error(f"unknown key `{unknown[0]}` in {self.label}.", unknown[0])

    def string(self, key: str) -> str | None:
        value = self.values.get(key)
        if value is not None and not isinstance(value, str):
            raise self.error(f"{self.label} {key} must be a string.", key)
        return value

    def whole(self, key: str, default: int, *, minimum: int = 1, maximum: int | None = None) -> int:
        value = self.values.get(key, default)
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
            raise self.error(f"{self.label} {key} must be {what}.", key)
        return value

    def duration(self, key: str, default: timedelta) -> timedelta:
        value = self.values.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.error(f'{self.label} {key} must be a window like "14d".', key)
        try:
            return parse_duration(value, maximum=timedelta(days=90))
        except WindowError as error:
            raise self.error(f"{self.label} {key}: {error}", key) from None

    def id_list(
        self, key: str, pattern: re.Pattern[str], what: str, *, allow_any: bool
    ) -> frozenset[str] | None:
        if key not in self.values:
            return None
        values = self.values[key]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise self.error(f"{self.label} {key} must be a list of strings.", key)
        for index, value in enumerate(values):
            if not (pattern.match(value) or (allow_any and value == ANY)):
                raise self.error(f"{self.label} {key}: {value!r} is not {what}.", key, index)
        return frozenset(values)


def _read_toml(path: Path) -> _File:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError(f"IAMAUTH_CONFIG: cannot read {path}: {reason}.") from None
    try:
        return _File(text, tomllib.loads(text))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"IAMAUTH_CONFIG: {path} is not valid TOML: {error}.") from None


def _watches(file: _File) -> tuple[Watch, ...]:
    watches: list[Watch] = []
    for entry in file.tables("watch"):
        entry.refuse_unknown(WATCH_KEYS)
        for key in ("cluster", "channel"):
            if not isinstance(entry.values.get(key), str):
                raise entry.error(f"[[watch]] needs `{key}` as a string.", key)
        thresholds = []
        for key in ("invalid_token", "insufficient_permissions", "throttling", "server_error"):
            if key not in entry.values:
                continue
            spec = entry.values[key]
            if not isinstance(spec, Mapping) or set(spec) - THRESHOLD_KEYS:
                unknown = sorted(set(spec) - THRESHOLD_KEYS) if isinstance(spec, Mapping) else []
                raise entry.error(
                    f'{key} must look like {{ count = 5, window = "5m" }}.', key, *unknown[:1]
                )
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
                raise entry.error(str(error), key, *_threshold_part(key, str(error))) from None
        if not thresholds:
            raise entry.error("[[watch]] needs at least one threshold.")
        repeat = entry.duration("repeat", DEFAULT_REPEAT)
        send_resolved = entry.values.get("send_resolved", True)
        if not isinstance(send_resolved, bool):
            raise entry.error("send_resolved must be true or false.", "send_resolved")
        try:
            validate_channel(entry.values["channel"])
        except WatchError as error:
            raise entry.error(str(error).replace("`", ""), "channel") from None
        try:
            watch = make_watch(
                entry.values["cluster"], entry.values["channel"], thresholds,
                repeat=repeat, send_resolved=send_resolved, source="config",
            )  # fmt: skip
        except WatchError as error:
            raise entry.error(str(error).replace("`", ""), "cluster") from None
        if any(w.cluster == watch.cluster and w.channel == watch.channel for w in watches):
            raise entry.error(f"{watch.cluster} is watched twice for {watch.channel}.", "cluster")
        watches.append(watch)
    return tuple(watches)


def _threshold_part(key: str, reason: str) -> tuple[str, ...]:
    """The part of a threshold that make_threshold's message is about (`{key}: count must…`),
    for a threshold written as a [watch.<key>] table over several lines."""
    named = [p for p in THRESHOLD_KEYS if reason.startswith(f"{key}: {p} ")]
    return tuple(named) or (("window",) if "window" in reason else ())


def _access(file: _File) -> AccessPolicy:
    """[access] admins/channels and [clusters.<name>] channels/owners."""
    if "access" not in file.values and "clusters" not in file.values:
        return AccessPolicy()
    access = file.table("access", {"admins", "channels"})
    admins = access.id_list("admins", _PRINCIPAL, _PEOPLE, allow_any=False) or frozenset()
    channels = access.id_list("channels", CHANNEL_ID, _CHANNELS, allow_any=True)
    clusters: dict[str, ClusterAccess] = {}
    for name, rule in file.table("clusters").values.items():
        where = f"[clusters.{name}]"
        try:
            cluster = validate_cluster_id(name)
        except IdentifierError as error:
            raise file.error(("clusters", name), str(error).replace("`", "")) from None
        if not isinstance(rule, Mapping):
            raise file.error(("clusters", name), f"{where} takes `channels` and `owners`.")
        table = _Table(file, ("clusters", name), where, rule)
        unknown = sorted(set(rule) - {"channels", "owners"})
        if unknown:
            raise table.error(f"{where} takes `channels` and `owners`.", unknown[0])
        clusters[cluster] = ClusterAccess(
            channels=table.id_list("channels", CHANNEL_ID, _CHANNELS, allow_any=True),
            owners=table.id_list("owners", _PRINCIPAL, _PEOPLE, allow_any=False) or frozenset(),
        )
    return AccessPolicy(
        enforced=True,
        admins=admins,
        channels=channels if channels is not None else frozenset({ANY}),
        clusters=clusters,
    )


def _targets(file: _File) -> tuple[TargetSpec, ...]:
    """[[target]] name, regions, and optionally role_arn, external_id, session_name."""
    specs: list[TargetSpec] = []
    for entry in file.tables("target"):
        entry.refuse_unknown(TARGET_KEYS)
        regions = entry.values.get("regions")
        wrong = 'regions must be a list of AWS regions, like ["us-east-1"].'
        if not isinstance(regions, list) or not regions:
            raise entry.error(wrong, "regions")
        for index, region in enumerate(regions):
            if not (isinstance(region, str) and REGION_PATTERN.match(region)):
                raise entry.error(wrong, "regions", index)
        role = entry.values.get("role_arn")
        if role is not None and not (isinstance(role, str) and _ROLE_ARN.match(role)):
            raise entry.error("role_arn must be an IAM role ARN.", "role_arn")
        name = entry.values.get("name", f"target{len(specs) + 1}")
        if not isinstance(name, str) or any(s.name == name for s in specs):
            raise entry.error("each [[target]] needs its own name.", "name")
        for key in ("external_id", "session_name"):
            entry.string(key)
        specs.append(
            TargetSpec(
                name,
                tuple(regions),
                role,
                entry.values.get("external_id"),
                entry.values.get("session_name", "iamauth"),
            )
        )
    return tuple(specs)
