from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.window import Window, WindowError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_accepted_windows(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "0m", "15", "m", "1w", "1.5h", "-1h", "15 m", "1h30m", "15d", "５m", "١h", "²d"]
)
def test_refused_windows_say_how_to_write_one(text: str) -> None:
    with pytest.raises(WindowError) as error:
        parse_duration(text)
    assert "`" in str(error.value)


def test_the_maximum_is_configurable() -> None:
    assert parse_duration("20d", maximum=timedelta(days=30)) == timedelta(days=20)
    with pytest.raises(WindowError, match="at most `2h`"):
        parse_duration("3h", maximum=timedelta(hours=2))


def test_window_is_half_open_and_utc() -> None:
    end = datetime(2025, 8, 11, 4, 0, 30, 123456, tzinfo=UTC)
    window = Window.ending_at(end, timedelta(hours=1))
    assert window.end == datetime(2025, 8, 11, 4, 0, 30, tzinfo=UTC)
    assert window.start == datetime(2025, 8, 11, 3, 0, 30, tzinfo=UTC)
    assert window.contains(window.start)
    assert not window.contains(window.end)
    assert window.describe() == "2025-08-11 03:00–04:00 UTC (1h)"


def test_a_window_across_midnight_names_both_days() -> None:
    window = Window.ending_at(datetime(2025, 8, 11, 1, 0, tzinfo=UTC), timedelta(days=7))
    assert window.describe() == "2025-08-04 01:00–2025-08-11 01:00 UTC (7d)"


def test_naive_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Window(datetime(2025, 1, 1), datetime(2025, 1, 2))


def test_format_duration() -> None:
    assert [format_duration(timedelta(minutes=m)) for m in (15, 60, 1440, 2880, 90)] == [
        "15m",
        "1h",
        "24h",
        "2d",
        "90m",
    ]
