"""The Logs Insights query reads lines as bot/domain/parse.py does, its text follows AWS's
documented syntax, and the choice of path and the result rows give exact counts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.insights_query import (
    CODES_QUERY,
    EVENTS_QUERY,
    GROUPS_QUERY,
    PARSES,
    ExactCounts,
    events_of,
    filter_pages,
    filter_read_fits,
    group_of,
    halves,
    python_regex,
    query_seconds,
)
from bot.domain.parse import MAX_LINE, parse_line
from bot.domain.records import CODE_FAMILIES
from bot.domain.summary import FailureSummary
from bot.domain.window import Window
from bot.sandbox.seed_aws import Failure, format_line

_COMPILED = [(source, python_regex(regex)) for source, regex in PARSES]


def insights_fields(line: str) -> tuple[str, str, str | None] | None:
    """What GROUPS_QUERY makes of one line: each `parse` searches its source field and, where it
    matches, sets its named captures (a field it does not match stays absent), as AWS documents."""
    if len(line) > MAX_LINE:  # `filter strlen(@message) <= MAX_LINE`
        return None
    fields = {"@message": line}
    for source, regex in _COMPILED:
        text = fields.get(source)
        found = regex.search(text) if text is not None else None
        if found is not None:
            fields.update({k: v for k, v in found.groupdict().items() if v is not None})
    if "code" not in fields:  # `filter ispresent(code)`
        return None
    group = group_of({**fields, "n": "1"})
    assert group is not None
    return group.user, group.code, group.caller


def parsed(line: str) -> tuple[str, str, str | None] | None:
    record = parse_line(line, 0)
    return None if record is None else (record.user, record.code, record.caller_arn)


DOCUMENTED = [
    "2025-08-11T04:00:05,804 [ERROR] Failed to authenticate the connection request for user "
    "'testuser' because the provided token is malformed or otherwise invalid. "
    "(Status Code: 400, Error Code: InvalidToken)",
    "[ERROR] Failed to authenticate the connection request for user db_user because the token age "
    "is longer than 15 minutes. (Status Code: 400, Error Code:ExpiredToken)",
    "[ERROR] Failed to authorize the connection request for user etl because the IAM policy "
    "assumed by the caller 'arn:aws:sts::123456789012:assumed-role/etl/i-1' is not authorized to "
    "perform rds-db:connect on the DB instance. (Status Code:403, Error Code:NotAuthorized)",
    "2025-09-22T12:02:30,806 [ERROR] Failed to authorize the connection request for user "
    "'user_1' due to an internal IAM DB Auth error. (Status Code: 500, Error Code: InternalError)",
    "2025-09-22T12:02:30,806 [ERROR] Failed to authorize the connection request for user 'a(b)' "
    "due to IAM DB authentication throttling. (Status Code: 429,\n Error Code: ThrottlingException)",
]


def test_the_documented_lines_read_as_the_parser_reads_them() -> None:
    assert [insights_fields(line) for line in DOCUMENTED] == [
        ("testuser", "InvalidToken", None),
        ("db_user", "ExpiredToken", None),
        ("etl", "NotAuthorized", "arn:aws:sts::123456789012:assumed-role/etl/i-1"),
        ("user_1", "InternalError", None),
        ("a(b)", "ThrottlingException", None),
    ]
    assert insights_fields("[ERROR] Something AWS has not documented yet") is None


SPOOFED = "arn:aws:iam::999999999999:role/spoofed"
PIECES = [
    "'",
    "' because ",
    " because ",
    "' due to ",
    " due  to ",
    "for user '",
    "for user ",
    "caller '",
    f"caller '{SPOOFED}'",
    f"' because the IAM policy assumed by the caller '{SPOOFED}' is not authorized",
    "(Status Code: 400, Error Code: NotAuthorized)",
    "[ERROR] ",
    "(",
    ")",
    "\n",
    "  ",
    ".",
]
hostile = st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=8).map("".join)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
)
arns = st.from_regex(
    r"arn:aws:sts::[0-9]{12}:assumed-role/[A-Za-z0-9_-]{1,20}/i-[0-9]{1,5}", fullmatch=True
)
lines = st.builds(
    lambda moment, user, code, arn, compact: format_line(
        Failure(moment, user, code, arn), compact_suffix=compact
    ),
    moments,
    hostile | st.text(max_size=40),
    st.sampled_from(sorted(CODE_FAMILIES)) | st.from_regex(r"[A-Z][a-z]{1,8}", fullmatch=True),
    arns,
    st.booleans(),
)
bare = lines.map(lambda line: line[24:].replace("for user '", "for user ", 1))
mutated = st.tuples(lines, st.integers(0, 300), st.sampled_from(PIECES)).map(
    lambda t: t[0][: t[1]] + t[2] + t[0][t[1] :]
)


@settings(max_examples=600, deadline=None)
@given(lines | bare | mutated | st.text(max_size=60))
def test_the_query_reads_any_line_as_the_parser_does(line: str) -> None:
    """User, code and caller (never one a user name supplies) agree with parse.py, line shapes
    with and without a timestamp, quoted and bare names, hostile names and mangled lines."""
    assert insights_fields(line) == parsed(line)


def test_a_user_name_never_supplies_the_caller() -> None:
    real = "arn:aws:sts::123456789012:assumed-role/app/i-1"
    for user in (f"x' because the caller '{SPOOFED}' is", f"x because the caller '{SPOOFED}' is"):
        line = format_line(Failure(datetime(2025, 8, 11, tzinfo=UTC), user, "NotAuthorized", real))
        for shape in (line, line[24:].replace("for user '", "for user ", 1)):
            fields = insights_fields(shape)
            assert fields == parsed(shape)
            assert fields is not None
            assert fields[2] == real


def test_a_line_over_the_cap_is_unparsed_in_both() -> None:
    line = DOCUMENTED[0].replace("testuser", "u" * MAX_LINE)
    assert insights_fields(line) is None
    assert parsed(line) is None


# The query text against AWS's documented syntax ----------------------------------------------------
COMMAND = re.compile(r"(filter|parse|stats|fields|sort|limit|display)\b")
PARSE = re.compile(r"parse (@message|[a-z]+) /(?P<regex>.*)/\Z", re.DOTALL)
STATS = re.compile(
    r"stats (count\(\*\) as [a-z]+)(, (min|max)\(@timestamp\) as [a-z]+)*"
    r"( by [a-z]+(, [a-z]+)*)?\Z"
)


def test_the_queries_follow_the_documented_command_syntax() -> None:
    for query in (GROUPS_QUERY, CODES_QUERY, EVENTS_QUERY):
        commands = [c.strip() for c in query.split("\n| ")]
        assert all(COMMAND.match(c) for c in commands), commands
        for command in commands:
            if command.startswith("parse"):
                found = PARSE.match(command)
                assert found is not None, command
                # A `/` would end the regex literal; every capture is named `(?<name>…)`.
                assert "/" not in found["regex"]
                assert "(?P<" not in found["regex"]
                assert "(?<" in found["regex"]
                python_regex(found["regex"])  # a valid regex
            if command.startswith("stats"):
                assert STATS.match(command), command
        assert commands[-1].startswith("stats")
    assert "by code, quser, equser, buser, wording, caller, rcaller" in GROUPS_QUERY


# Choosing the path --------------------------------------------------------------------------------
def test_pages_are_the_larger_of_events_and_bytes() -> None:
    assert filter_pages(10_000) == 4  # 10,000 × 326 bytes = 3.1 MiB: 4 pages
    assert filter_pages(10_000, line_bytes=50) == 1
    assert filter_pages(0) == 1


def test_a_window_too_big_for_the_budget_or_the_cap_goes_to_insights() -> None:
    # 24 h at 1,000 failures/s: 86 M lines.
    assert not filter_read_fits(86_400_000, 20, 100_000)
    assert filter_read_fits(5_000, 20, 100_000)
    # Within the cap but not the time: 90,000 lines ≈ 28 MB = 28 pages ≈ 5.6 s at 5/s, 1.1 s budget.
    assert not filter_read_fits(90_000, 1, 100_000)
    assert filter_read_fits(90_000, 20, 100_000)
    assert not filter_read_fits(100_001, 20, 100_000)
    assert filter_read_fits(86_400_000, 0, 100_000)  # 0 turns Insights off


def test_slices_are_whole_seconds_and_stop_at_a_minute() -> None:
    start = datetime(2025, 8, 11, tzinfo=UTC)
    window = Window(start, start + timedelta(minutes=3, seconds=1))
    older, newer = halves(window) or (None, None)
    assert older == Window(start, start + timedelta(seconds=90))
    assert newer == Window(start + timedelta(seconds=90), window.end)
    assert halves(Window(start, start + timedelta(minutes=1))) is None
    assert query_seconds(window) == (int(start.timestamp()), int(start.timestamp()) + 180)


# Result rows → exact counts -----------------------------------------------------------------------
def row(**values: str) -> list[dict[str, str]]:
    return [{"field": k, "value": v} for k, v in values.items()]


def test_rows_give_exact_counts_and_times() -> None:
    counts = ExactCounts()
    counts.add_rows(
        [
            row(
                code="InvalidToken",
                quser="app",
                n="7",
                first="2025-08-11 04:00:05.804",
                last="2025-08-11 05:00:00.000",
            ),
            row(
                code="NotAuthorized",
                buser="etl",
                wording="because",
                caller="arn:aws:sts::1:assumed-role/r/i",
                n="2",
                first="2025-08-11 03:00:00.000",
                last="2025-08-11 03:30:00.000",
            ),
            # The same group from another slice adds up.
            row(
                code="InvalidToken",
                quser="app",
                n="3",
                first="2025-08-11 06:00:00.000",
                last="2025-08-11 06:00:01.000",
            ),
            # A user closing at the reason's end: the caller in it is the name's, not AWS's.
            row(code="Odd", quser="", n="1"),
            row(
                code="Odd2",
                equser="x caller 'arn:aws:iam::1:role/e'",
                caller="arn:aws:iam::1:role/e",
                n="1",
            ),
            row(n="4"),  # no code: not a failure row
        ]
    )
    total = events_of([row(events="20")])
    assert total is not None
    counts.events = total
    # A service that ignored `stats` (the emulator) answers rows of events: no count at all.
    assert events_of([row(**{"@ptr": "0"})]) is None
    assert {k: g.n for k, g in counts.groups.items()} == {
        ("InvalidToken", "app", None): 10,
        ("NotAuthorized", "etl", "arn:aws:sts::1:assumed-role/r/i"): 2,
        ("Odd", "", None): 1,
        ("Odd2", "x caller 'arn:aws:iam::1:role/e'", None): 1,
    }
    assert (counts.parsed, counts.unparsed) == (14, 6)
    assert counts.first_seen == datetime(2025, 8, 11, 3, tzinfo=UTC)
    assert counts.last_seen == datetime(2025, 8, 11, 6, 0, 1, tzinfo=UTC)


def test_a_full_minute_counts_what_it_could_not_itemise_by_code() -> None:
    counts = ExactCounts()
    itemised = counts.add_rows([row(code="InvalidToken", quser=f"u{i}", n="1") for i in range(3)])
    counts.add_code_totals(
        [row(code="InvalidToken", n="10"), row(code="ExpiredToken", n="2")], itemised
    )
    assert counts.not_itemised == {"InvalidToken": 7, "ExpiredToken": 2}
    assert counts.parsed == 12


def test_a_summary_takes_exact_counts_and_keeps_its_samples() -> None:
    summary = FailureSummary(max_keys=2)
    summary.add_line(DOCUMENTED[0])
    summary.truncated = True
    counts = ExactCounts(events=105)
    counts.add_rows(
        [
            row(
                code="InvalidToken",
                quser="a",
                n="50",
                first="2025-08-11 01:00:00.000",
                last="2025-08-11 02:00:00.000",
            ),
            row(
                code="NotAuthorized",
                quser="b",
                wording="because",
                caller="arn:aws:sts::1:assumed-role/r/i",
                n="30",
            ),
            row(code="InvalidToken", quser="c", n="20"),
        ]
    )
    counts.not_itemised["ExpiredToken"] += 4
    summary.take_exact_counts(
        [(g.user, g.code, g.caller, g.n) for g in counts.most_first()],
        counts.not_itemised,
        counts.unparsed,
        counts.first_seen,
        counts.last_seen,
    )
    assert summary.total == 104
    assert summary.unparsed == 1
    assert summary.by_code == {"InvalidToken": 70, "NotAuthorized": 30, "ExpiredToken": 4}
    # max_keys 2: the two biggest pairs itemised, the rest counted by code in the totals.
    assert summary.top_users(5) == [("a", 50), ("b", 30)]
    assert summary.users_overflow == 24
    assert summary.callers.top(5) == [("arn:aws:sts::1:assumed-role/r/i", 30)]
    assert not summary.truncated
    assert summary.first_seen == datetime(2025, 8, 11, 1, tzinfo=UTC)
    assert summary.last_seen == datetime(2025, 8, 11, 2, tzinfo=UTC)
    assert summary.samples["InvalidToken"][0] == DOCUMENTED[0]


def test_the_budget_is_configured_in_limits(tmp_path: Path) -> None:
    from bot.config import ConfigError, load_settings

    assert load_settings({}).exact_read_seconds == 20
    config = tmp_path / "iamauth.toml"
    config.write_text("[limits]\nexact_read_seconds = 0\n")
    assert load_settings({"IAMAUTH_CONFIG": str(config)}).exact_read_seconds == 0
    config.write_text("[limits]\nexact_read_seconds = -1\n")
    with pytest.raises(ConfigError, match="exact_read_seconds"):
        load_settings({"IAMAUTH_CONFIG": str(config)})
