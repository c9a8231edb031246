"""The per-person budget of AWS-reading commands: its setting, and pyrate-limiter counting it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.adapters.store.repo import storable
from bot.config import ConfigError, load_settings
from bot.domain.user_rate import DEFAULT_USER_RATE, UserRate, parse_user_rate
from bot.ops.user_limits import UserRateLimiter


def test_rates_are_written_like_thresholds() -> None:
    assert parse_user_rate("20/5m") == UserRate(20, timedelta(minutes=5))
    assert parse_user_rate(" 3 / 1h ") == UserRate(3, timedelta(hours=1))
    assert not parse_user_rate("off").limited
    for bad, reason in [
        ("0/5m", "is not a rate"),
        ("20", "is not a rate"),
        ("20/5x", "is not a window"),
        ("20/2d", "at most `24h`"),
    ]:
        with pytest.raises(ValueError, match=reason):
            parse_user_rate(bad)


def test_the_config_file_sets_it(tmp_path: Path) -> None:
    config = tmp_path / "iamauth.toml"
    assert load_settings({}).user_rate == DEFAULT_USER_RATE
    config.write_text('[limits]\nuser_rate = "5/10m"\n')
    assert load_settings({"IAMAUTH_CONFIG": str(config)}).user_rate == UserRate(
        5, timedelta(minutes=10)
    )
    config.write_text('[limits]\nevent_cap = 10\nuser_rate = "lots"\n')
    with pytest.raises(ConfigError, match=r"line 3: .*user_rate.*is not a rate"):
        load_settings({"IAMAUTH_CONFIG": str(config)})


def test_each_person_has_a_budget_of_their_own() -> None:
    limiter = UserRateLimiter(UserRate(3, timedelta(hours=1)))
    assert [limiter.spend("U0ALICE01") for _ in range(3)] == [None, None, None]
    wait = limiter.spend("U0ALICE01")
    # The first of the three leaves the window in (just under) an hour.
    assert wait is not None
    assert timedelta(minutes=59) < wait <= timedelta(hours=1, seconds=1)
    assert limiter.spend("U0BOB0001") is None  # not Alice's budget
    unlimited = UserRateLimiter(parse_user_rate("off"))
    assert all(unlimited.spend("U0ALICE01") is None for _ in range(1000))


def test_stored_text_holds_no_control_characters() -> None:
    assert storable("a\x00b\x1b[2Jc\ud800d", 100) == "a\ufffdb\ufffd[2Jc\ufffdd"
    assert storable("deploy\nrollback\tnow", 100) == "deploy rollback now"
    assert storable("<#C0SEC00001|ops>", 8) == "<#C0SEC0"
    assert storable("ünïcödé ✓", 100) == "ünïcödé ✓"
