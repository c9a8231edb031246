"""The Settings every process runs with, composed once at start from the environment
(bot/config/environment.py) and the optional TOML file named by IAMAUTH_CONFIG (bot/config/file.py).

The file's [aws], [limits] and [scheduler] tables map one to one onto fields and are read here;
[[watch]], [access]/[clusters.<name>] and [[target]] have a module each.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bot.adapters.aws.clients import AwsSettings
from bot.adapters.aws.cloudwatch_logs import DEFAULT_EVENT_CAP
from bot.adapters.aws.rate_budget import ReadRates
from bot.adapters.aws.targets import TargetSpec
from bot.config.access import read_access
from bot.config.environment import DEFAULT_DATABASE_URL, DEFAULT_SLACK_API_URL, read_environment
from bot.config.file import EMPTY, Table, plain, read_file
from bot.config.targets import read_targets
from bot.config.watches import read_watches
from bot.domain.access import AccessPolicy
from bot.domain.insights_query import DEFAULT_EXACT_READ_SECONDS
from bot.domain.metrics import METRICS_DELAY
from bot.domain.user_rate import DEFAULT_USER_RATE, UserRate, parse_user_rate
from bot.domain.watches import Watch
from bot.domain.window import DEFAULT_MAX_WINDOW

TABLES = frozenset({"aws", "limits", "scheduler", "watch", "access", "clusters", "target"})


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    port: int = 3000
    aws: AwsSettings = field(default_factory=AwsSettings)
    event_cap: int = DEFAULT_EVENT_CAP
    # Past this estimated FilterLogEvents read time, Logs Insights counts the window (0: never).
    exact_read_seconds: int = DEFAULT_EXACT_READ_SECONDS
    cache_seconds: int = 30
    max_window: timedelta = DEFAULT_MAX_WINDOW
    database_url: str = DEFAULT_DATABASE_URL
    watches: tuple[Watch, ...] = ()
    tick_seconds: int = 60
    metrics_delay: timedelta = METRICS_DELAY
    access: AccessPolicy = field(default_factory=AccessPolicy)
    targets: tuple[TargetSpec, ...] = ()
    user_rate: UserRate = DEFAULT_USER_RATE  # AWS-reading commands per person
    # Log reads per second per (account, region), shared by every process (rate_budget.py).
    read_rates: ReadRates = field(default_factory=ReadRates)

    def __repr__(self) -> str:
        # Never print secrets (tokens, a password inside DATABASE_URL), even in a traceback.
        return (
            f"Settings(slack_api_url={self.slack_api_url!r}, port={self.port}, aws={self.aws!r}, "
            f"event_cap={self.event_cap}, max_window={self.max_window}, "
            f"watches={len(self.watches)}, tick_seconds={self.tick_seconds})"
        )


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    environment = read_environment(os.environ if env is None else env)
    path = environment.config_path
    file = read_file(Path(path)) if path else EMPTY
    file.refuse_unknown(TABLES)
    aws = file.table("aws", {"region", "profile"})
    limits = file.table(
        "limits",
        {
            "event_cap",
            "exact_read_seconds",
            "cache_seconds",
            "max_window",
            "user_rate",
            "logs_rate",
            "insights_rate",
        },
    )
    scheduler = file.table("scheduler", {"interval_seconds", "metrics_delay"})
    return Settings(
        slack_bot_token=environment.slack_bot_token,
        slack_signing_secret=environment.slack_signing_secret,
        slack_app_token=environment.slack_app_token,
        slack_api_url=environment.slack_api_url,
        port=environment.port,
        aws=AwsSettings(
            region=environment.aws_region or aws.string("region"),
            profile=environment.aws_profile or aws.string("profile"),
            endpoint_url=environment.aws_endpoint_url,
        ),
        event_cap=limits.whole("event_cap", DEFAULT_EVENT_CAP),
        exact_read_seconds=limits.whole(
            "exact_read_seconds", DEFAULT_EXACT_READ_SECONDS, minimum=0, maximum=3600
        ),
        cache_seconds=limits.whole("cache_seconds", 30, minimum=0, maximum=3600),
        max_window=limits.duration("max_window", DEFAULT_MAX_WINDOW),
        database_url=environment.database_url,
        watches=read_watches(file),
        tick_seconds=scheduler.whole("interval_seconds", 60),
        metrics_delay=scheduler.duration("metrics_delay", METRICS_DELAY),
        access=read_access(file),
        targets=read_targets(file),
        user_rate=_user_rate(limits),
        read_rates=ReadRates(
            logs=_per_second(limits, "logs_rate", ReadRates.logs),
            insights=_per_second(limits, "insights_rate", ReadRates.insights),
        ),
    )


def _user_rate(limits: Table) -> UserRate:
    text = limits.string("user_rate")
    try:
        return DEFAULT_USER_RATE if text is None else parse_user_rate(text)
    except ValueError as error:
        raise limits.error(f"[limits] user_rate: {plain(error)}", "user_rate") from None


def _per_second(limits: Table, key: str, default: float) -> float:
    """Requests per second: a number above 0, at most 1000."""
    value = limits.values.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1000:
        raise limits.error(
            f"[limits] {key} must be requests per second, above 0 and at most 1000.", key
        )
    return float(value)
