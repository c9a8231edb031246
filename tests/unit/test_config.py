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
