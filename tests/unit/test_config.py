from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import DEFAULT_SLACK_API_URL, ConfigError, load_settings


def test_defaults_from_an_empty_environment() -> None:
    settings = load_settings({})
    assert settings.slack_api_url == DEFAULT_SLACK_API_URL
    assert settings.event_cap == 100_000
    assert settings.max_window == timedelta(days=14)
    assert settings.port == 3000


def test_environment_and_file(tmp_path: Path) -> None:
    config = tmp_path / "iamauth.toml"
    config.write_text('[aws]\nregion = "eu-west-1"\n[limits]\nevent_cap = 500\nmax_window = "2d"\n')
    settings = load_settings(
        {
            "IAMAUTH_CONFIG": str(config),
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "SLACK_BOT_TOKEN": "xoxb-secret-value",
            "PORT": "8080",
        }
    )
    assert settings.aws.region == "eu-west-1"
    assert settings.event_cap == 500
    assert settings.max_window == timedelta(days=2)
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.port == 8080
    assert "xoxb-secret-value" not in repr(settings)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[aws\nregion = 1", "not valid TOML"),
        ("[limits]\nevent_cap = -1", "event_cap must be a positive whole number"),
        ('[limits]\nmax_window = "forever"', "max_window"),
        ("aws = 3", "[aws] must be a table"),
        ("[aws]\nregion = 5", "region must be a string"),
    ],
)
def test_a_wrong_file_is_refused_with_the_reason(tmp_path: Path, text: str, reason: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match="IAMAUTH_CONFIG") as error:
        load_settings({"IAMAUTH_CONFIG": str(config)})
    assert reason in str(error.value)


def test_toml_errors_give_the_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[aws]\nregion = "x"\nprofile = \n')
    with pytest.raises(ConfigError, match="line 3"):
        load_settings({"IAMAUTH_CONFIG": str(config)})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings({"IAMAUTH_CONFIG": str(tmp_path / "nope.toml")})


ISSUE_EXAMPLE = """\
[aws]
region = "us-east-1"

[[watch]]
cluster = "prod-db"
channel = "C0123456789"
invalid_token = { count = 5, window = "5m" }
insufficient_permissions = { count = 1, window = "15m" }
repeat = "4h"          # re-notify while still firing (default 4h)
send_resolved = true   # post when it is over (default true)

[[watch]]
cluster = "orders-db"
channel = "C0123456789"
throttling = { count = 10, window = "5m", periods = 3, breaching = 2 }
send_resolved = false
"""


def test_watches_in_the_documented_shape(tmp_path: Path) -> None:
    from bot.domain.records import Family

    config = tmp_path / "iamauth.toml"
    config.write_text(ISSUE_EXAMPLE)
    settings = load_settings({"IAMAUTH_CONFIG": str(config)})
    prod, orders = settings.watches
    assert (prod.cluster, prod.channel, prod.source) == ("prod-db", "C0123456789", "config")
    assert [(t.family, t.count, t.window) for t in prod.thresholds] == [
        (Family.INVALID_TOKEN, 5, timedelta(minutes=5)),
        (Family.INSUFFICIENT_PERMISSIONS, 1, timedelta(minutes=15)),
    ]
    assert prod.repeat == timedelta(hours=4)
    assert prod.send_resolved is True
    (throttling,) = orders.thresholds
    assert (throttling.family, throttling.periods, throttling.breaching) == (
        Family.THROTTLING,
        3,
        2,
    )
    assert orders.send_resolved is False
    assert orders.repeat == timedelta(hours=4)


@pytest.mark.parametrize(
    ("replace", "by", "line", "reason"),
    [
        (
            'channel = "C0123456789"\ninvalid',
            'channel = "general"\ninvalid',
            6,
            "not a Slack channel id",
        ),
        (
            'invalid_token = { count = 5, window = "5m" }',
            'invalid_token = { count = 0, window = "5m" }',
            7,
            "count",
        ),
        ('window = "15m" }', 'window = "15x" }', 8, "is not a window"),
        ('repeat = "4h"', 'repeat = "often"', 9, "repeat"),
        ("send_resolved = true", 'send_resolved = "yes"', 10, "true or false"),
        ('cluster = "orders-db"', 'cluster = "Orders_DB"', 13, "not an RDS cluster identifier"),
        ("breaching = 2", "breaching = 4", 15, "breaching must be"),
        ('repeat = "4h"', 'repat = "4h"', 9, "unknown key `repat`"),
    ],
)
def test_a_wrong_watch_is_refused_with_its_line(
    tmp_path: Path, replace: str, by: str, line: int, reason: str
) -> None:
    assert replace in ISSUE_EXAMPLE
    config = tmp_path / "bad.toml"
    config.write_text(ISSUE_EXAMPLE.replace(replace, by, 1))
    with pytest.raises(ConfigError) as error:
        load_settings({"IAMAUTH_CONFIG": str(config)})
    assert f"line {line}:" in str(error.value)
    assert reason in str(error.value)


def test_access_policy(tmp_path: Path) -> None:
    from bot.domain.access import Kind

    config = tmp_path / "iamauth.toml"
    config.write_text(
        '[access]\nadmins = ["U0ADMIN01", "S0ADMINS"]\nchannels = ["C0OPS00001"]\n\n'
        '[clusters.prod-db]\nchannels = ["C0PROD0001"]\nowners = ["U0ALICE01"]\n'
    )
    policy = load_settings({"IAMAUTH_CONFIG": str(config)}).access
    assert policy.enforced
    assert policy.admins == {"U0ADMIN01", "S0ADMINS"}
    assert policy.decide(Kind.READ, "prod-db", "U1", "C0PROD0001").allowed
    assert not policy.decide(Kind.READ, "prod-db", "U1", "C0OPS00001").allowed
    assert policy.decide(Kind.CHANGE, "prod-db", "U0ALICE01", "C1").allowed
    assert not load_settings({}).access.enforced


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[access]\nadmins = ["alice"]', "'alice' is not a Slack user id"),
        ('[access]\nchannels = "C0OPS00001"', "channels must be a list"),
        ('[access]\nowner = ["U1AAA"]', "unknown key `owner`"),
        ('[clusters.Prod_DB]\nowners = ["U0ALICE01"]', "not an RDS cluster identifier"),
        ('[clusters.prod-db]\nwatchers = ["U0ALICE01"]', "takes `channels` and `owners`"),
    ],
)
def test_a_wrong_access_table_is_refused(tmp_path: Path, text: str, reason: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match="line") as error:
        load_settings({"IAMAUTH_CONFIG": str(config)})
    assert reason in str(error.value)
