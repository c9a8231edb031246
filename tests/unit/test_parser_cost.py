"""The log parsers cost time linear in their input, whatever the input (security finding 7).

Anyone who can reach the database chooses the user name in an `iam-db-auth-error` line, and any
database user can write anything into the `postgresql` log (a logged statement). So each parser,
and the whole path of `failures … clients` (parse both logs, then match), is timed on crafted lines
of n and 8n characters: linear code costs at most 8 times as much (less, with its fixed part),
quadratic code 64 times. The bound, GROWTH_BOUND, sits between the two with a margin of 3 on the
linear side. Times are the least of several batches of thread CPU time, each a few milliseconds
long, so neither other processes nor the clock's resolution can make them flake.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.correlate import correlate
from bot.domain.pam import MAX_LINE as PAM_MAX_LINE
from bot.domain.pam import PAM_PHRASE, PamLines, classify
from bot.domain.parse import MAX_LINE, parse_line
from bot.domain.summary import FailureSummary
from bot.sandbox.seed_aws import Failure, format_line
from bot.sandbox.seed_postgresql_log import Client, pam_lines

GROWTH = 8
GROWTH_BOUND = 24
BATCH_SECONDS = 0.003
BATCHES = 5

IAM_HEAD = "2025-08-11T04:00:05,804 [ERROR] "
IAM_SUFFIX = " (Status Code: 400, Error Code: InvalidToken)"
PAM_HEAD = "2025-08-11 03:36:09 UTC:10.0.1.67(40050):"
PAM_MESSAGE = f'{PAM_PHRASE} "'
T = datetime(2025, 8, 11, 3, 36, 9, tzinfo=UTC)


def cost(work: Callable[[], object]) -> float:
    """Thread CPU seconds per call of `work`."""
    calls = 1
    while _batch(work, calls) < BATCH_SECONDS:
        calls *= 2
    return min(_batch(work, calls) for _ in range(BATCHES)) / calls


def _batch(work: Callable[[], object], calls: int) -> float:
    started = time.thread_time()
    for _ in range(calls):
        work()
    return time.thread_time() - started


def assert_linear(parse: Callable[[str], object], line_of: Callable[[int], str], n: int) -> None:
    small, big = line_of(n), line_of(GROWTH * n)
    small_cost = cost(lambda: parse(small))
    big_cost = cost(lambda: parse(big))
    assert big_cost <= GROWTH_BOUND * small_cost, (big_cost / small_cost, small[:200])


def repeated(head: str, unit: str, tail: str) -> Callable[[int], str]:
    """A line with n characters of `unit` repeated between a head and a tail."""
    return lambda n: head + unit * max(n // len(unit), 1) + tail


def add_line(line: str) -> None:
    FailureSummary().add_line(line)


# Crafted worst cases: runs of the characters the patterns split on.
IAM_CRAFTED = [
    repeated(IAM_HEAD + "a", " ", "x"),  # a run of spaces that is no suffix
    repeated(IAM_HEAD, " ", IAM_SUFFIX),
    repeated(IAM_HEAD, "'", IAM_SUFFIX),
    repeated(IAM_HEAD, "(", ""),
    repeated(IAM_HEAD, "( Error Code: a", ""),
    repeated(IAM_HEAD, "(Status Code: 400, Error Code: X) ", "x"),
    repeated(IAM_HEAD, "for user 'x", IAM_SUFFIX),
    repeated(IAM_HEAD + "for user '", "' because ", IAM_SUFFIX),
    repeated(IAM_HEAD, "for user ", IAM_SUFFIX),
    repeated(IAM_HEAD, "caller 'arn:", IAM_SUFFIX),
    repeated(IAM_HEAD + "for user 'u' because caller 'arn:", "a", IAM_SUFFIX),
    repeated(IAM_HEAD, "\n", IAM_SUFFIX),
    repeated(" " * 8, " ", ""),
]
PAM_CRAFTED = [
    repeated(PAM_HEAD, "@:[1]:LOG: ", f'{PAM_MESSAGE}a" x'),
    repeated(PAM_HEAD, "@", f':[1]:FATAL: {PAM_MESSAGE}{"@" * 10}"'),
    repeated(PAM_HEAD + ":", "@", f':[1]:FATAL: {PAM_MESSAGE}{"@" * 40}x"'),
    repeated(PAM_HEAD, "@:[1]:", f'FATAL: {PAM_MESSAGE}@:[1]:@:[1]:"'),
    repeated(PAM_HEAD, "x@", f':[1]:FATAL: {PAM_MESSAGE}{"x@" * 20}y"'),
    repeated(PAM_HEAD, f"@:[1]:FATAL: {PAM_MESSAGE}", '"'),
    repeated(PAM_HEAD + "u@d:[1]:LOG:  statement: SELECT '", f'{PAM_MESSAGE}x"', "'"),
    repeated("2025-08-11 03:36:09 UTC:", "1", f'@:[1]:FATAL: {PAM_MESSAGE}x"'),
    repeated("2025-08-11 03:36:09 UTC:", ":", f':[1]:FATAL: {PAM_MESSAGE}a"'),
    repeated(PAM_HEAD, '"', f'{PAM_MESSAGE}"'),
    repeated(PAM_HEAD, " ", f':[1]:FATAL: {PAM_MESSAGE}a"'),
]
IAM_N = MAX_LINE // (GROWTH + 1)  # 8n stays under the cap: past it nothing is parsed
PAM_N = PAM_MAX_LINE // (GROWTH + 2)


def test_crafted_iam_lines_cost_linear_time() -> None:
    for line_of in IAM_CRAFTED:
        assert_linear(parse_line, line_of, IAM_N)
        assert_linear(add_line, line_of, IAM_N)  # the fast path first, as the summary reads


def test_crafted_pam_lines_cost_linear_time() -> None:
    for line_of in PAM_CRAFTED:
        assert len(line_of(GROWTH * PAM_N)) <= PAM_MAX_LINE
        assert_linear(classify, line_of, PAM_N)


IAM_TOKENS = ["'", " ", "(", ")", ":", "caller '", "for user '", "' because ", "Error Code:", "\n"]
PAM_TOKENS = ["@", ":", ":[1]:", "FATAL: ", '"', " ", "(5)", PAM_MESSAGE, "x"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(IAM_TOKENS), min_size=1, max_size=6).map("".join),
    st.sampled_from(["", IAM_SUFFIX, "'" + IAM_SUFFIX]),
)
def test_generated_iam_lines_cost_linear_time(unit: str, tail: str) -> None:
    assert_linear(parse_line, repeated(IAM_HEAD, unit, tail), IAM_N)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(PAM_TOKENS), min_size=1, max_size=6).map("".join),
    st.sampled_from(['"', f'{PAM_MESSAGE}x"', f':[1]:FATAL: {PAM_MESSAGE}x"']),
)
def test_generated_pam_lines_cost_linear_time(unit: str, tail: str) -> None:
    assert_linear(classify, repeated(PAM_HEAD, unit, tail), PAM_N)


def test_lines_over_the_caps_cost_no_more_than_reading_them() -> None:
    """Past the cap nothing is parsed: the cost is that of looking at the line once."""
    assert_linear(parse_line, repeated(IAM_HEAD, " ", "x"), MAX_LINE * 2)
    assert_linear(add_line, repeated(IAM_HEAD, "'", IAM_SUFFIX), MAX_LINE * 2)
    assert_linear(classify, repeated(PAM_HEAD, "@:[1]:LOG: ", f'{PAM_MESSAGE}a"'), PAM_MAX_LINE)


# The whole path of `failures … clients`: read both logs a page at a time, then match.
def clients_path(iam_page: list[str], pam_page: list[str]) -> None:
    summary = FailureSummary(events=[])
    summary.add_lines(iam_page)
    found = PamLines()
    found.add_lines(pam_page)
    assert summary.events is not None
    correlate(summary.events, found.failures)


def pages(count: int, statement_length: int) -> tuple[list[str], list[str]]:
    """`count` failures of one user a few ms apart, each with its PAM line, and as many logged
    statements quoting one (`SELECT '@@…:[1]:FATAL: PAM authentication failed for user "@@…x"'`)."""
    user = "app@:[1]:x"
    half = statement_length // 2
    statement = (
        f"{T:%Y-%m-%d %H:%M:%S} UTC:10.0.0.9(4000):mallory@app:[9]:LOG:  statement: SELECT '"
        f"{'@' * half}:[1]:FATAL: {PAM_MESSAGE}{'@' * half}x\"'"
    )
    iam_page, pam_page = [], []
    for i in range(count):
        moment = T + timedelta(milliseconds=7 * i)
        iam_page.append(format_line(Failure(moment, user, "ExpiredToken")))
        pam_page.append(pam_lines(moment, user, Client("10.0.1.67", 40000 + i, "app", i))[1])
        pam_page.append(statement)
    return iam_page, pam_page


def test_the_clients_path_is_linear_in_the_number_of_lines() -> None:
    small, big = pages(200, 100), pages(200 * GROWTH, 100)
    assert cost(lambda: clients_path(*big)) <= GROWTH_BOUND * cost(lambda: clients_path(*small))


def test_the_clients_path_is_linear_in_the_length_of_lines() -> None:
    small, big = pages(50, PAM_N), pages(50, PAM_N * GROWTH)
    assert len(big[1][1]) <= PAM_MAX_LINE
    assert cost(lambda: clients_path(*big)) <= GROWTH_BOUND * cost(lambda: clients_path(*small))


def test_the_clients_path_matches_what_it_reads() -> None:
    """The pages above are what they claim: every failure finds its PAM line, and the statements
    are counted apart, never matched."""
    iam_page, pam_page = pages(50, PAM_N)
    summary = FailureSummary(events=[])
    summary.add_lines(iam_page)
    found = PamLines()
    found.add_lines(pam_page)
    assert summary.events is not None
    assert (len(found.failures), found.unreadable) == (50, 50)
    assert {failure.pid for failure in found.failures} == set(range(50))
    assert correlate(summary.events, found.failures).matched == 50
