from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config.watches import read_watches
from bot.domain.alerts import DEFAULT_REPEAT
from bot.domain.records import Family
from tests.unit.config.files import config, refusal

WATCH = ("[[watch]]", 'cluster = "prod-db"', 'channel = "C0123456789"')


def test_a_watch_with_its_defaults() -> None:
    (watch,) = read_watches(config(*WATCH, 'server_error = { count = 3, window = "10m" }'))
    assert (str(watch.cluster), watch.channel, watch.source) == ("prod-db", "C0123456789", "config")
    assert (watch.repeat, watch.send_resolved) == (DEFAULT_REPEAT, True)
    (threshold,) = watch.thresholds
    assert (threshold.family, threshold.count, threshold.window) == (
        Family.SERVER_ERROR,
        3,
        timedelta(minutes=10),
    )
    assert (threshold.periods, threshold.breaching) == (1, 1)
    assert read_watches(config()) == ()


def test_a_cluster_watched_twice_is_found_once_its_name_is_normalised() -> None:
    text = (
        *WATCH,
        'invalid_token = { count = 5, window = "5m" }',
        "",
        "[[watch]]",
        'channel = "C0123456789"',
        'throttling = { count = 5, window = "5m" }',
        'cluster = " PROD-DB"',
    )
    assert refusal(read_watches, *text) == (
        "IAMAUTH_CONFIG line 9: prod-db is watched twice for C0123456789."
    )
    elsewhere = [*text[:-3], 'channel = "C0OTHER0001"', *text[-2:]]
    assert [w.channel for w in read_watches(config(*elsewhere))] == ["C0123456789", "C0OTHER0001"]


@pytest.mark.parametrize(
    ("threshold", "line", "message"),
    [
        (("throttling = 3",), 4, 'throttling must look like { count = 5, window = "5m" }.'),
        (
            ("", "[watch.throttling]", "count = 2", 'windw = "5m"'),
            7,
            'throttling must look like { count = 5, window = "5m" }.',
        ),
        (
            ("", "[watch.throttling]", "count = 2", 'window = "5m"', "breaching = 2"),
            8,
            "throttling: breaching must be a whole number from 1 to periods (1).",
        ),
        (
            ("", "[watch.throttling]", "count = 2"),
            5,
            'throttling: window must be written like "5m".',
        ),
    ],
)
def test_a_threshold_error_is_at_the_part_it_is_about(
    threshold: tuple[str, ...], line: int, message: str
) -> None:
    assert refusal(read_watches, *WATCH, *threshold) == f"IAMAUTH_CONFIG line {line}: {message}"


def test_a_threshold_table_belongs_to_the_watch_above_it() -> None:
    text = (
        *WATCH,
        'invalid_token = { count = 5, window = "5m" }',
        "",
        "[[watch]]",
        'cluster = "orders-db"',
        'channel = "C0123456789"',
        "",
        "[watch.throttling]",
        "count = 0",
        'window = "5m"',
    )
    first, second = read_watches(config(*text[:-2], "count = 1", 'window = "5m"'))
    assert [t.family for t in first.thresholds] == [Family.INVALID_TOKEN]
    assert [t.family for t in second.thresholds] == [Family.THROTTLING]
    assert refusal(read_watches, *text) == (
        "IAMAUTH_CONFIG line 11: throttling: count must be a whole number from 1 to 1,000,000."
    )


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (("[[watch]]", 'channel = "C0123456789"'), "[[watch]] needs `cluster` as a string."),
        (WATCH, "[[watch]] needs at least one threshold."),
    ],
)
def test_what_a_watch_lacks_is_reported_at_its_header(lines: tuple[str, ...], message: str) -> None:
    assert refusal(read_watches, "", *lines) == f"IAMAUTH_CONFIG line 2: {message}"


def test_a_cluster_that_is_not_a_string_is_reported_at_its_line() -> None:
    assert refusal(read_watches, "[[watch]]", 'channel = "C0123456789"', "cluster = 5") == (
        "IAMAUTH_CONFIG line 3: [[watch]] needs `cluster` as a string."
    )
