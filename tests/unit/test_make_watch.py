"""make_watch owns every limit of a watch, whichever front end gives it the values."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.address import Address
from bot.domain.watches import DEFAULT_THRESHOLDS, MAX_REPEAT, WatchError, make_watch

PROD = Address("prod-db")


@pytest.mark.parametrize("repeat", ["7d", timedelta(days=7), "168h"])
def test_repeat_up_to_the_limit_is_taken_as_typed_or_as_a_duration(
    repeat: str | timedelta,
) -> None:
    watch = make_watch(PROD, "C0OPS00001", list(DEFAULT_THRESHOLDS), repeat=repeat)
    assert watch.repeat == MAX_REPEAT == timedelta(days=7)


@pytest.mark.parametrize("repeat", ["8d", "90d", timedelta(days=7, minutes=1)])
def test_repeat_past_the_limit_is_refused_the_same_way_from_either_front_end(
    repeat: str | timedelta,
) -> None:
    with pytest.raises(WatchError, match=r"repeat can be at most `7d`") as refused:
        make_watch(PROD, "C0OPS00001", list(DEFAULT_THRESHOLDS), repeat=repeat)
    assert refused.value.field == "repeat"


@pytest.mark.parametrize(
    ("repeat", "reason"),
    [("often", "is not a window"), ("0m", "at least `1m`"), (timedelta(seconds=30), "at least")],
)
def test_a_repeat_that_is_no_duration_is_refused(repeat: str | timedelta, reason: str) -> None:
    with pytest.raises(WatchError, match=reason) as refused:
        make_watch(PROD, "C0OPS00001", list(DEFAULT_THRESHOLDS), repeat=repeat)
    assert refused.value.field == "repeat"


def test_a_refused_channel_names_its_part() -> None:
    with pytest.raises(WatchError) as channel:
        make_watch(PROD, "general", list(DEFAULT_THRESHOLDS))
    assert channel.value.field == "channel"
