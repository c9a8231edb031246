from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.records import AuthFailure, Family
from bot.domain.summary import SAMPLES_PER_CODE, UNPARSED_SAMPLES, FailureSummary

T0 = datetime(2025, 8, 11, 4, 0, tzinfo=UTC)


def failure(seconds: int, user: str, code: str, caller: str | None = None) -> AuthFailure:
    return AuthFailure(
        T0 + timedelta(seconds=seconds), "ERROR", user, f"r{seconds}", 400, code, caller
    )


def test_counts_by_code_family_user_and_pair() -> None:
    summary = FailureSummary()
    for i, (user, code) in enumerate(
        [
            ("a", "InvalidToken"),
            ("a", "ExpiredToken"),
            ("b", "NotAuthorized"),
            ("a", "InvalidToken"),
            ("c", "New"),
        ]
    ):
        summary.add(
            failure(i, user, code, "arn:aws:iam::1:role/x" if code == "NotAuthorized" else None)
        )
    assert summary.total == 5
    assert dict(summary.by_code) == {
        "InvalidToken": 2,
        "ExpiredToken": 1,
        "NotAuthorized": 1,
        "New": 1,
    }
    assert summary.by_family[Family.INVALID_TOKEN] == 3
    assert summary.by_family[Family.INSUFFICIENT_PERMISSIONS] == 1
    assert summary.by_family[Family.OTHER] == 1
    assert summary.top_users(2) == [("a", 3), ("b", 1)]
    assert summary.users_for_code("InvalidToken", 5) == [("a", 2)]
    assert summary.callers.top(5) == [("arn:aws:iam::1:role/x", 1)]
    assert summary.first_seen == T0
    assert summary.last_seen == T0 + timedelta(seconds=4)


def test_out_of_order_events_still_give_first_and_last() -> None:
    summary = FailureSummary()
    for seconds in (50, 10, 90, 30):
        summary.add(failure(seconds, "u", "InvalidToken"))
    assert summary.first_seen == T0 + timedelta(seconds=10)
    assert summary.last_seen == T0 + timedelta(seconds=90)


def test_memory_is_bounded_for_many_distinct_users() -> None:
    summary = FailureSummary(max_keys=100)
    for i in range(10_000):
        summary.add(failure(i, f"user-{i}", "InvalidToken"), raw=f"line {i}")
    assert summary.total == 10_000
    assert len(summary.by_user.counts) == 100
    assert summary.users_overflow == 9_900
    assert sum(summary.by_user.counts.values()) + summary.users_overflow == 10_000
    assert len(summary.samples["InvalidToken"]) == SAMPLES_PER_CODE
    assert list(summary.samples["InvalidToken"]) == ["line 9997", "line 9998", "line 9999"]


def test_unparsed_lines_are_counted_with_a_few_samples() -> None:
    summary = FailureSummary()
    for i in range(10):
        summary.add_unparsed(f"junk {i}")
    assert summary.unparsed == 10
    assert summary.unparsed_samples == [f"junk {i}" for i in range(UNPARSED_SAMPLES)]
    assert summary.total == 0


def test_ties_are_ordered_by_name_for_stable_replies() -> None:
    summary = FailureSummary()
    for user in ["zed", "amy", "bob"]:
        summary.add(failure(0, user, "InvalidToken"))
    assert [u for u, _ in summary.top_users(3)] == ["amy", "bob", "zed"]
