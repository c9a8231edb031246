from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.correlate import (
    TOLERANCE_MS,
    IamEvent,
    correlate,
    nearest_pairs,
)
from bot.domain.pam import PamFailure
from bot.domain.summary import FailureSummary
from bot.sandbox.seed_aws import Failure, format_line

T0 = 1_754_883_360_000  # 2025-08-11 03:36:00 UTC, in ms


def pam(second: int, user: str = "app", client: str = "10.0.0.1", db: str = "app") -> PamFailure:
    """A PAM line stamped `second` seconds after T0, whole seconds as RDS writes them."""
    return PamFailure(T0 + second * 1000, 1000, user, client, 40000, db, 100 + second)


def iam(ms_after: int, user: str = "app", code: str = "ExpiredToken") -> IamEvent:
    return IamEvent(T0 + ms_after, user, code)


def test_whole_second_lines_match_when_some_moment_of_their_second_is_within_2_s() -> None:
    line = [pam(10)]  # happened somewhere in 10.000–10.999
    assert nearest_pairs([iam(12_999)], line) == [(0, 0)]  # 10.999 → 12.999: 2 s
    assert nearest_pairs([iam(8_000)], line) == [(0, 0)]  # 8.000 → 10.000: 2 s
    assert nearest_pairs([iam(13_000)], line) == []  # at least 2.001 s
    assert nearest_pairs([iam(7_999)], line) == []
    assert nearest_pairs([iam(13_000)], [pam(10)], tolerance_ms=3_000) == [(0, 0)]


def test_a_line_3_s_away_is_not_matched() -> None:
    result = correlate([iam(13_000)], [pam(9)])
    assert (result.matched, result.unmatched_iam, result.unmatched_pam) == (0, 1, 1)


def test_nearest_pairs_first_and_each_line_once() -> None:
    # Two failures, one PAM line at 10 s (middle 10.5 s): the failure at 10.6 s is nearer.
    assert nearest_pairs([iam(9_200), iam(10_600)], [pam(10)]) == [(1, 0)]
    # Two lines of the same second and three failures: two pairs, the farthest failure left.
    pairs = nearest_pairs([iam(10_100), iam(10_900), iam(12_500)], [pam(10), pam(10)])
    assert sorted(i for i, _ in pairs) == [0, 1]
    assert sorted(j for _, j in pairs) == [0, 1]


def test_nearest_first_does_not_strand_a_failure_when_ties_allow_both() -> None:
    # Failures at 10.5 and 12.5 s, lines stamped 11 (middle 11.5) and 13 (middle 13.5): every
    # pair is 1 s apart; both failures find a line.
    assert sorted(nearest_pairs([iam(10_500), iam(12_500)], [pam(11), pam(13)])) == [
        (0, 0),
        (1, 1),
    ]


def test_only_the_same_user_matches() -> None:
    assert nearest_pairs([iam(10_000, user="a")], [pam(10, user="b")]) == []
    assert nearest_pairs([iam(10_000, user="a")], [pam(10, user="A")]) == []


def test_correlation_counts_clients_and_databases_per_user_and_code() -> None:
    failures = [
        iam(1_000, "checkout_svc", "ExpiredToken"),
        iam(5_000, "checkout_svc", "ExpiredToken"),
        iam(9_000, "checkout_svc", "ExpiredToken"),
        iam(20_000, "checkout_svc", "InvalidToken"),
        iam(30_000, "reporting", "NotAuthorized"),
        iam(40_000, "reporting", "NotAuthorized"),  # no PAM line
    ]
    lines = [
        pam(1, "checkout_svc", "10.0.1.67", "orders"),
        pam(5, "checkout_svc", "10.0.1.67", "orders"),
        pam(9, "checkout_svc", "10.0.2.8", "orders"),
        pam(20, "checkout_svc", "10.0.2.8", "orders"),
        pam(30, "reporting", "10.0.5.33", "reports"),
        pam(50, "app"),  # no failure
    ]
    result = correlate(failures, lines)
    assert [(g.user, g.code, g.matched, g.clients, g.databases) for g in result.groups] == [
        ("checkout_svc", "ExpiredToken", 3, [("10.0.1.67", 2), ("10.0.2.8", 1)], ["orders"]),
        ("checkout_svc", "InvalidToken", 1, [("10.0.2.8", 1)], ["orders"]),
        ("reporting", "NotAuthorized", 1, [("10.0.5.33", 1)], ["reports"]),
    ]
    assert (result.iam_total, result.matched, result.unmatched_iam) == (6, 5, 1)
    assert (result.pam_total, result.unmatched_pam) == (6, 1)


def test_many_clients_are_cut_to_the_top_five() -> None:
    failures = [iam(s * 10_000) for s in range(8)]
    lines = [pam(s * 10, client=f"10.0.0.{s % 7}") for s in range(8)]
    (group,) = correlate(failures, lines).groups
    assert group.clients[0] == ("10.0.0.0", 2)
    assert len(group.clients) == 5
    assert group.more_clients == 2


def test_unmatched_pam_lines_outside_the_window_are_not_counted() -> None:
    result = correlate(
        [iam(10_000)], [pam(-2), pam(10), pam(61)], counted_from_ms=T0, counted_to_ms=T0 + 60_000
    )
    assert (result.matched, result.pam_total, result.unmatched_pam) == (1, 1, 0)


# Properties ------------------------------------------------------------------------------------

USERS = ["a", "b", "c"]
failures_strategy = st.lists(
    st.builds(
        IamEvent,
        st.integers(0, 30_000).map(lambda m: T0 + m),
        st.sampled_from(USERS),
        st.sampled_from(["InvalidToken", "ExpiredToken"]),
    ),
    max_size=40,
)
lines_strategy = st.lists(
    st.builds(lambda second, user: pam(second, user), st.integers(-3, 33), st.sampled_from(USERS)),
    max_size=40,
)


def _within(event: IamEvent, line: PamFailure) -> bool:
    return line.ms - TOLERANCE_MS <= event.ms <= line.ms + line.precision_ms - 1 + TOLERANCE_MS


def _reference(events: Sequence[IamEvent], lines: Sequence[PamFailure]) -> set[tuple[int, int]]:
    """The greedy over every pair, in the order nearest_pairs documents: distance to the middle
    of the PAM line's second, then the pair whose left member is latest, then right earliest,
    positions taken in one time-ordered list of both sides."""
    items = sorted(
        [(2 * e.ms, 0, i) for i, e in enumerate(events)]
        + [(2 * p.ms + p.precision_ms - 1, 1, j) for j, p in enumerate(lines)]
    )
    position = {(side, k): n for n, (_, side, k) in enumerate(items)}
    candidates = []
    for i, event in enumerate(events):
        for j, line in enumerate(lines):
            if event.user == line.user and _within(event, line):
                a, b = sorted((position[(0, i)], position[(1, j)]))
                candidates.append((items[b][0] - items[a][0], -a, b, i, j))
    used_i: set[int] = set()
    used_j: set[int] = set()
    pairs = set()
    for *_, i, j in sorted(candidates):
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            pairs.add((i, j))
    return pairs


@settings(max_examples=400, deadline=None)
@given(failures_strategy, lines_strategy)
def test_each_line_once_every_pair_within_2_s_and_the_counts_add_up(
    events: list[IamEvent], lines: list[PamFailure]
) -> None:
    pairs = nearest_pairs(events, lines)
    assert len({i for i, _ in pairs}) == len(pairs)
    assert len({j for _, j in pairs}) == len(pairs)
    for i, j in pairs:
        assert events[i].user == lines[j].user
        assert _within(events[i], lines[j])
    # Nothing left that could still be paired: greedy stops only when no pair is within reach.
    left_i = set(range(len(events))) - {i for i, _ in pairs}
    left_j = set(range(len(lines))) - {j for _, j in pairs}
    assert not any(
        events[i].user == lines[j].user and _within(events[i], lines[j])
        for i in left_i
        for j in left_j
    )
    result = correlate(events, lines)
    assert result.matched + result.unmatched_iam == result.iam_total == len(events)
    assert sum(g.matched for g in result.groups) == result.matched == len(pairs)
    assert result.unmatched_pam == len(lines) - len(pairs)


@settings(max_examples=400, deadline=None)
@given(failures_strategy, lines_strategy)
def test_the_heap_gives_exactly_the_nearest_first_greedy(
    events: list[IamEvent], lines: list[PamFailure]
) -> None:
    assert set(nearest_pairs(events, lines)) == _reference(events, lines)


# The failures' events come from the same pages the summary counts ----------------------------


def test_the_summary_keeps_each_failures_time_user_and_code_when_asked() -> None:
    start = datetime(2025, 8, 11, 4, tzinfo=UTC)
    failures = [
        Failure(
            start + timedelta(milliseconds=1_237 * n), f"u{n % 3}", ("InvalidToken", "X")[n % 2]
        )
        for n in range(100)
    ]
    lines = [format_line(f, compact_suffix=n % 5 == 0) for n, f in enumerate(failures)]
    # An odd shape (two spaces after the level) that only the full parser reads.
    odd = Failure(start + timedelta(milliseconds=5), "odd", "InvalidToken")
    lines.append(format_line(odd).replace("] ", "]  ", 1))
    fast, slow, plain = FailureSummary(events=[]), FailureSummary(events=[]), FailureSummary()
    fast.add_lines(lines)  # 101 lines with standard stamps: the page-at-a-time path
    for line in lines:
        slow.add_line(line)
    plain.add_lines(lines)
    expected = Counter(
        IamEvent(int(f.time.timestamp() * 1000), f.user, f.code) for f in [*failures, odd]
    )
    assert Counter(fast.events or []) == expected
    assert Counter(slow.events or []) == expected
    assert plain.events is None
    assert fast.total == plain.total == 101
