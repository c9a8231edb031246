"""The page path of FailureSummary (issue 14 part 7): the cache of parsed rests holds a working
set beyond 20,000 distinct lines within a bound on its memory, the stepped check of a page's
timestamps decides as the one-line check does, and pages count exactly as lines one by one do,
also beyond max_keys (pairs and callers refused) and across pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import summary as summary_module
from bot.domain.parse import fast_fields
from bot.domain.summary import FailureSummary, clear_parse_caches
from bot.sandbox.seed_aws import Failure, format_line
from tests.unit.test_parse import mutated, well_formed

START = datetime(2025, 8, 11, 23, 59, 58, tzinfo=UTC)
CODES = ["InvalidToken", "ExpiredToken", "NotAuthorized", "ThrottlingException", "InternalError"]


def lines_of(users: int, codes: list[str], start: datetime = START) -> list[str]:
    """One line per user and code, 3 ms apart (across midnight at START), both suffix spacings."""
    lines = []
    for i in range(users * len(codes)):
        moment = start + timedelta(milliseconds=3 * i)
        failure = Failure(moment, f"u{i // len(codes)}", codes[i % len(codes)])
        lines.append(format_line(failure, compact_suffix=i % 2 == 0))
    return lines


def test_a_working_set_over_20000_rests_stays_cached() -> None:
    """Before, the cache forgot everything at 20,000 rests: a log of ~21,000 distinct lines
    parsed most of them again on every page (the worst case of benchmark (c))."""
    clear_parse_caches()
    lines = lines_of(5_000, CODES)  # 25,000 distinct rests
    FailureSummary().add_lines(lines)
    parsed: list[str] = []

    def counting(line: str) -> tuple[str, str, str, str | None] | None:
        parsed.append(line)
        return fast_fields(line)

    again = FailureSummary()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(summary_module, "fast_fields", counting)
        again.add_lines(lines)
    assert parsed == []
    assert again.total == 25_000


def test_the_cache_is_bounded_in_entries_and_characters() -> None:
    clear_parse_caches()
    rests = summary_module._parsed_rests
    long_user = "x" * 3_000  # ~3,200-character rests: 4,000 of them would hold 12.8M characters
    lines = [format_line(Failure(START, f"{long_user}{i}", "InvalidToken")) for i in range(4_000)]
    summary = FailureSummary()
    for at in range(0, len(lines), 500):
        summary.add_lines(lines[at : at + 500])
    held = sum(map(len, rests.entries))
    assert held <= rests.MAX_CHARS
    assert len(rests.entries) >= 1_000  # it forgets the older half, not everything
    assert summary.total == 4_000
    short = lines_of(12_000, CODES)  # 60,000 short rests
    for at in range(0, len(short), 10_000):
        summary.add_lines(short[at : at + 10_000])
    assert len(rests.entries) <= rests.MAX_ENTRIES
    assert summary.total == 64_000
    clear_parse_caches()


# A page's timestamps, checked at once, read as each line's own check reads them.
days = st.dates(min_value=datetime(1, 1, 1).date()).map(lambda d: f"{d:%Y-%m-%d}")
times = st.builds(
    lambda h, m, s, ms: f"T{h:02d}:{m:02d}:{s:02d},{ms:03d} ",
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
    st.integers(0, 999),
)
odd_days = st.builds(
    lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
    st.integers(0, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
)
edits = st.tuples(st.integers(0, 23), st.sampled_from("0123456789:-T, Z٣\x00é"))


edges = st.sampled_from([0, 9, 23, 24, 29, 59, 60, 99])
raw_times = st.builds(
    lambda h, m, s: f"T{h:02d}:{m:02d}:{s:02d},000 ",
    edges | st.integers(0, 23),
    edges | st.integers(0, 59),
    edges | st.integers(0, 59),
)


@settings(max_examples=500, deadline=None)
@given(
    days | odd_days,
    st.sampled_from([None, None, None, "2025-08-12"]),
    st.lists(times, min_size=1, max_size=5),
    st.none() | raw_times,
    st.lists(edits, max_size=3),
    st.integers(1, 80),
    st.integers(0, 9).map(lambda n: n == 0),
)
def test_a_pages_timestamps_read_as_each_lines_own_check(
    day: str,
    other_day: str | None,
    page_times: list[str],
    last_time: str | None,
    changes: list[tuple[int, str]],
    size: int,
    short: bool,
) -> None:
    """Pages of one day (checked by range) or two (each second checked); the last line's time
    maybe out of range (an hour of 24, a minute of 60) and a few of its characters changed (a
    non-ASCII digit, a lost mark, …)."""
    heads = [day + page_times[i % len(page_times)] for i in range(size)]
    if other_day is not None:
        heads[0] = other_day + heads[0][10:]
    if last_time is not None:
        heads[-1] = heads[-1][:10] + last_time
    for at, to in changes:
        heads[-1] = heads[-1][:at] + to + heads[-1][at + 1 :]
    if short:
        heads[-1] = heads[-1][:20]  # a line shorter than a timestamp
    lines = [head + "[ERROR] x" for head in heads]
    expected = all(summary_module._has_standard_stamp(line) for line in lines)
    assert summary_module._standard_heads([line[:24] for line in lines]) == expected


@pytest.mark.parametrize(
    ("day", "time"),
    [
        ("2025-02-29", "T00:00:00,000 "),  # no such day (the whole page on it)
        ("2025-08-11", "T24:00:00,000 "),  # no such hour, minute, second on the page's day
        ("2025-08-11", "T23:60:00,000 "),
        ("2025-08-11", "T23:00:60,000 "),
        ("0000-01-01", "T00:00:00,000 "),  # no year 0
        ("2025-08-11", "T04:00:0٥,804 "),  # a digit, not an ASCII one
        ("2025-08-11", "T04:00:05.804 "),
    ],
)
def test_one_bad_timestamp_sends_the_page_line_by_line(day: str, time: str) -> None:
    good = [day + line[10:] for line in lines_of(20, CODES[:4], START.replace(hour=4))]
    page = [*good[:40], day + time + good[0][24:], *good[40:]]
    assert not summary_module._standard_heads([line[:24] for line in page])
    paged, one_by_one = FailureSummary(), FailureSummary()
    paged.add_lines(page)
    for line in page:
        one_by_one.add_line(line)
    assert (paged.total, paged.unparsed) == (one_by_one.total, one_by_one.unparsed)


def assert_same(paged: FailureSummary, one_by_one: FailureSummary) -> None:
    assert paged.total == one_by_one.total
    assert paged.unparsed == one_by_one.unparsed
    assert paged.unparsed_samples == one_by_one.unparsed_samples
    assert list(paged._pairs.items()) == list(one_by_one._pairs.items())  # the same order too
    assert list(paged._overflow.items()) == list(one_by_one._overflow.items())
    assert list(paged.callers.counts.items()) == list(one_by_one.callers.counts.items())
    assert paged.callers.overflow == one_by_one.callers.overflow
    assert (paged.first_seen, paged.last_seen) == (one_by_one.first_seen, one_by_one.last_seen)
    assert {c: list(s) for c, s in paged.samples.items()} == {
        c: list(s) for c, s in one_by_one.samples.items()
    }
    assert list(paged.samples) == list(one_by_one.samples)
    assert paged.events == one_by_one.events


callers = st.sampled_from([f"arn:aws:sts::123456789012:assumed-role/r{i}/i-{i}" for i in range(6)])
failures = st.builds(
    lambda user, code, caller, compact: (user, code, caller, compact),
    st.sampled_from([f"u{i}" for i in range(8)]) | st.text(max_size=6),
    st.sampled_from(CODES) | st.from_regex(r"[A-Z][a-z]{0,5}", fullmatch=True),
    callers,
    st.booleans(),
)


restamped = (well_formed | mutated).filter(lambda line: len(line) > 24 and line[19] == ",")
TRUNCATED = "[ERROR] truncated line"


@settings(max_examples=150, deadline=None)
@given(
    st.lists(failures | restamped | st.just(TRUNCATED), min_size=1, max_size=40),
    st.lists(st.integers(0, 39), min_size=64, max_size=400),
    st.integers(1, 6),
    st.integers(64, 130),
    st.booleans(),
)
def test_pages_count_as_lines_one_by_one_beyond_max_keys(
    kinds: list[tuple[str, str, str, bool] | str],
    picks: list[int],
    max_keys: int,
    page_size: int,
    cold: bool,
) -> None:
    """Many pairs and callers over a small max_keys, over several pages of standard lines:
    the pairs and callers itemised, those refused (counted by code), their order, samples,
    events and unparsed lines all as line by line; with the cache of parsed rests cold or warm.
    (A page holding a line with no standard timestamp goes line by line: not here.)"""
    if cold:
        clear_parse_caches()
    lines = []
    for i, pick in enumerate(picks):
        kind = kinds[pick % len(kinds)]
        moment = START + timedelta(milliseconds=7 * i)
        stamp = f"{moment:%Y-%m-%dT%H:%M:%S},{moment.microsecond // 1000:03d}"
        if isinstance(kind, tuple):
            user, code, caller, compact = kind
            lines.append(format_line(Failure(moment, user, code, caller), compact_suffix=compact))
        else:
            lines.append(stamp + (kind[23:] if kind[19:20] == "," else " " + kind))
    paged = FailureSummary(max_keys=max_keys, events=[])
    one_by_one = FailureSummary(max_keys=max_keys, events=[])
    for at in range(0, len(lines), page_size):
        page = lines[at : at + page_size]
        paged.add_lines(page)
    for line in lines:
        one_by_one.add_line(line)
    assert_same(paged, one_by_one)


def test_pages_after_the_pairs_are_replaced_count_from_the_new_ones() -> None:
    """A summary whose pairs are replaced (exact counts from Logs Insights) routes the next
    pages' pairs from scratch: a pair itemised before is not assumed itemised now."""
    lines = lines_of(30, CODES)
    paged = FailureSummary(max_keys=10)
    paged.add_lines(lines[:75])
    paged._pairs = {("someone", "InvalidToken"): 5}
    paged.add_lines(lines[75:])
    one_by_one = FailureSummary(max_keys=10)
    for line in lines[:75]:
        one_by_one.add_line(line)
    one_by_one._pairs = {("someone", "InvalidToken"): 5}
    for line in lines[75:]:
        one_by_one.add_line(line)
    assert list(paged._pairs.items()) == list(one_by_one._pairs.items())
    assert paged.by_code == one_by_one.by_code
    assert paged.total == one_by_one.total == 150


def test_untimestamped_pages_with_many_users_count_as_lines_one_by_one() -> None:
    lines = [line[24:] for line in lines_of(40, CODES)]
    times = [1_754_870_400_000 + 3 * i for i in range(len(lines))]
    paged = FailureSummary(max_keys=25, events=[])
    one_by_one = FailureSummary(max_keys=25, events=[])
    for at in range(0, len(lines), 64):
        paged.add_lines(lines[at : at + 64], times[at : at + 64])
    for line, event_ms in zip(lines, times, strict=True):
        one_by_one.add_line(line, event_ms)
    assert_same(paged, one_by_one)
    assert paged.users_overflow > 0
