"""each_alone: a failure of the expected kinds or a late answer is one call's result; a bug is not."""

from __future__ import annotations

import threading

import pytest

from bot.ops.isolation import TIMED_OUT, Failed, each_alone


class PlaceDown(Exception):
    pass


def test_each_call_fails_alone_and_a_late_one_is_not_waited_for() -> None:
    release = threading.Event()

    def down() -> int:
        raise PlaceDown("denied")

    def hanging() -> int:
        release.wait()
        return 3

    try:
        results = each_alone(
            {"ok": lambda: 1, "down": down, "hanging": hanging}, alone=(PlaceDown,), budget=0.2
        )
    finally:
        release.set()
    assert results["ok"] == 1
    refused = results["down"]
    assert isinstance(refused, Failed)
    assert refused.reason == "PlaceDown"
    assert isinstance(refused.error, PlaceDown)
    assert results["hanging"] == Failed(TIMED_OUT)


def test_an_unexpected_error_is_raised_after_the_others_ran() -> None:
    ran: list[str] = []

    def bug() -> None:
        raise KeyError("not a place's bad luck")

    with pytest.raises(KeyError, match="bad luck"):
        each_alone({"bug": bug, "other": lambda: ran.append("other")}, alone=(PlaceDown,))
    assert ran == ["other"]


def test_no_calls_no_threads() -> None:
    assert each_alone({}, alone=(PlaceDown,)) == {}
