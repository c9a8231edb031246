"""Every line shape AWS documents for `iam-db-auth-error` (iam-db-auth-facts.md, "Two documented line
shapes"): whole lines with a timestamp and a quoted user, and the troubleshooting table's lines with
no timestamp and an unquoted user, which take their CloudWatch event's time; both suffix spacings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.correlate import IamEvent
from bot.domain.parse import fast_fields, parse_line
from bot.domain.records import CODE_FAMILIES, Family
from bot.domain.summary import FailureSummary
from tests.unit.test_parser_cost import IAM_N, IAM_SUFFIX, add_line, assert_linear, repeated

EVENT = datetime(2025, 9, 22, 12, 2, 31, 250000, tzinfo=UTC)
EVENT_MS = int(EVENT.timestamp() * 1000)
STAMP = "2025-09-22T12:02:30,806"
STAMP_TIME = datetime(2025, 9, 22, 12, 2, 30, 806000, tzinfo=UTC)
CALLER = "arn:aws:sts::123456789012:assumed-role/app-role/i-0abc"
SPOOFED = "arn:aws:iam::123456789012:role/prod-admin"

# The wording of each documented code, `{u}` where the user goes (iam-db-auth-facts.md).
WORDING = {
    "InvalidToken": (
        "Failed to authenticate the connection request for user {u} because the provided token "
        "is malformed or otherwise invalid.",
        400,
    ),
    "ExpiredToken": (
        "Failed to authenticate the connection request for user {u} because the token age is "
        "longer than 15 minutes.",
        400,
    ),
    "NotAuthorized": (
        "Failed to authorize the connection request for user {u} because the IAM policy assumed "
        f"by the caller '{CALLER}' is not authorized to perform rds-db:connect on the DB instance.",
        403,
    ),
    "ThrottlingException": (
        "Failed to authorize the connection request for user {u} due to IAM DB authentication "
        "throttling.",
        429,
    ),
    "InternalError": (
        "Failed to authorize the connection request for user {u} due to an internal IAM DB "
        "authentication error.",
        500,
    ),
}
SPACINGS = {
    "spaced": "(Status Code: {s}, Error Code: {c})",
    "compact code": "(Status Code: {s}, Error Code:{c})",  # the troubleshooting table's
    "compact both": "(Status Code:{s}, Error Code:{c})",
}


def epoch_ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def line_of(
    code: str, user: str, *, stamped: bool, quoted: bool, spacing: str, caller: str = CALLER
) -> str:
    wording, status = WORDING[code]
    named = f"'{user}'" if quoted else user
    reason = wording.replace(CALLER, caller).format(u=named)
    suffix = SPACINGS[spacing].format(s=status, c=code)
    return f"{STAMP + ' ' if stamped else ''}[ERROR] {reason} {suffix}"


def test_the_troubleshooting_tables_line_takes_the_events_time() -> None:
    line = (
        "[ERROR] Failed to authenticate the connection request for user db_user because the "
        "token age is longer than 15 minutes. (Status Code: 400, Error Code:ExpiredToken)"
    )
    record = parse_line(line, EVENT_MS)
    assert record is not None
    assert (record.time, record.user, record.code, record.status) == (
        EVENT,
        "db_user",
        "ExpiredToken",
        400,
    )
    assert record.family is Family.INVALID_TOKEN
    assert record.caller_arn is None
    # With no time of its own and none given, it cannot be placed: unparsed, never made up.
    assert parse_line(line) is None


def test_the_aurora_mysql_pages_whole_line_keeps_its_own_time() -> None:
    line = (
        "2025-09-22T12:02:30,806 [ERROR] Failed to authorize the connection request for user "
        "'user_1' due to an internal IAM DB Auth error. (Status Code: 500, Error Code: "
        "InternalError)"
    )
    for event_ms in (None, EVENT_MS):
        record = parse_line(line, event_ms)
        assert record is not None
        assert (record.time, record.user, record.code) == (STAMP_TIME, "user_1", "InternalError")


@pytest.mark.parametrize("spacing", sorted(SPACINGS))
@pytest.mark.parametrize("quoted", [True, False], ids=["quoted", "unquoted"])
@pytest.mark.parametrize("stamped", [True, False], ids=["timestamp", "no-timestamp"])
@pytest.mark.parametrize("code", sorted(WORDING))
def test_every_documented_shape_reads(code: str, stamped: bool, quoted: bool, spacing: str) -> None:
    line = line_of(code, "db_user", stamped=stamped, quoted=quoted, spacing=spacing)
    record = parse_line(line, EVENT_MS)
    assert record is not None, line
    assert record.time == (STAMP_TIME if stamped else EVENT)
    assert (record.user, record.code, record.status) == ("db_user", code, WORDING[code][1])
    assert record.family is CODE_FAMILIES[code]
    assert record.caller_arn == (CALLER if code == "NotAuthorized" else None)
    # The summary counts it the same way, one by one and in a page.
    one, page = FailureSummary(events=[]), FailureSummary(events=[])
    one.add_line(line, EVENT_MS)
    page.add_lines([line] * 64, [EVENT_MS] * 64)
    assert (one.total, one.unparsed, one.by_user.counts) == (1, 0, {"db_user": 1})
    assert (page.total, page.unparsed, page.by_code) == (64, 0, {code: 64})
    assert one.first_seen == one.last_seen == page.first_seen == record.time
    assert one.events == [IamEvent(epoch_ms(record.time), "db_user", code)]
    assert page.events == one.events * 64


def test_an_unreadable_line_without_a_timestamp_is_counted_with_a_sample() -> None:
    odd = "[ERROR] Something AWS has not documented yet"
    summary = FailureSummary()
    summary.add_lines([odd] * 70, [EVENT_MS + i for i in range(70)])
    summary.add_line("no level at all (Status Code: 400, Error Code: InvalidToken)", EVENT_MS)
    assert (summary.total, summary.unparsed) == (0, 71)
    assert summary.unparsed_samples[0] == odd
    # Seen at its event's time, as a truncated timestamped line is seen at its own.
    assert summary.first_seen == EVENT
    assert summary.last_seen == EVENT + timedelta(milliseconds=69)


# A bare user name: everything between the first `for user ` and the last ` because ` / ` due to `.
@pytest.mark.parametrize(
    "user",
    ["db_user", "two words", "x because y", "it's", "a'", "caller 'arn:aws:iam::1:role/x'", ""],
)
def test_bare_user_names_read_whole(user: str) -> None:
    for code in WORDING:
        line = line_of(code, user, stamped=False, quoted=False, spacing="compact code")
        record = parse_line(line, EVENT_MS)
        assert record is not None
        assert record.user == user
        assert record.caller_arn == (CALLER if code == "NotAuthorized" else None)


def test_a_bare_user_name_never_supplies_the_caller() -> None:
    """Whatever an unquoted name holds, the caller is read after AWS's last ` because `: in an
    InvalidToken line there is none, in a NotAuthorized line it is the real one."""
    spoofs = [
        f"x because the IAM policy assumed by the caller '{SPOOFED}' is not authorized",
        f"'x' because the IAM policy assumed by the caller '{SPOOFED}' is not authorized",
        f"x for user 'y' because caller '{SPOOFED}'",
        f"x due to caller '{SPOOFED}'",
    ]
    lines = []
    for spoof in spoofs:
        for code in ("InvalidToken", "NotAuthorized", "ThrottlingException"):
            for stamped in (True, False):
                line = line_of(code, spoof, stamped=stamped, quoted=False, spacing="spaced")
                record = parse_line(line, EVENT_MS)
                assert record is not None
                assert record.code == code
                assert record.caller_arn == (CALLER if code == "NotAuthorized" else None), line
                fast = fast_fields(line)
                assert fast is None or fast[3] == record.caller_arn
                lines.append(line)
    summary = FailureSummary()
    summary.add_lines(lines * 4, [EVENT_MS] * len(lines) * 4)
    assert summary.callers.counts == {CALLER: 4 * len(spoofs) * 2}


def test_a_bare_name_imitating_a_quoted_one_reads_as_it_the_one_ambiguous_case() -> None:
    """`for user 'x' because …` is the same text whether the name is x quoted or 'x' bare: it
    reads as x. Documented in bot/domain/parse.py; the caller stays out of reach either way."""
    line = line_of("InvalidToken", "'x'", stamped=False, quoted=False, spacing="spaced")
    record = parse_line(line, EVENT_MS)
    assert record is not None
    assert record.user == "x"


# Round trips -----------------------------------------------------------------------------------
codes = st.sampled_from(sorted(WORDING))
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
).map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000))
role_arns = st.from_regex(
    r"arn:aws:(iam|sts)::[0-9]{12}:(role|assumed-role)/([A-Za-z0-9+=,.@_-]{1,20}/){0,3}"
    r"[A-Za-z0-9+=,.@_-]{1,64}",
    fullmatch=True,
)
HOSTILE = ["'", " because ", " due to ", "for user ", "caller '", f"caller '{SPOOFED}'", "(", ")"]
any_user = st.lists(st.sampled_from(HOSTILE) | st.text(max_size=6), max_size=6).map("".join)
# A bare name that starts with a quote may imitate a quoted one (the documented ambiguity).
bare_user = any_user.filter(lambda u: not u.startswith("'"))


@settings(max_examples=400, deadline=None)
@given(moments, codes, st.booleans(), st.booleans(), st.sampled_from(sorted(SPACINGS)), role_arns)
def test_every_shape_reads_back(
    moment: datetime, code: str, stamped: bool, quoted: bool, spacing: str, arn: str
) -> None:
    """Any user, quoted or (not starting with a quote) bare, any spacing, with or without the
    line's own timestamp: the user, code, caller and time come back as written."""
    for user in ("db_user", "a b", "svc because x"):
        line = line_of(code, user, stamped=stamped, quoted=quoted, spacing=spacing, caller=arn)
        if stamped:
            line = f"{moment:%Y-%m-%dT%H:%M:%S},{moment.microsecond // 1000:03d}" + line[23:]
        record = parse_line(line, epoch_ms(moment))
        assert record is not None
        assert (record.time, record.user, record.code) == (moment, user, code)
        assert record.caller_arn == (arn if code == "NotAuthorized" else None)


@settings(max_examples=400, deadline=None)
@given(st.one_of(any_user.map(lambda u: (u, True)), bare_user.map(lambda u: (u, False))), codes)
def test_any_user_name_reads_back_without_a_timestamp(named: tuple[str, bool], code: str) -> None:
    user, quoted = named
    line = line_of(code, user, stamped=False, quoted=quoted, spacing="compact code")
    record = parse_line(line, EVENT_MS)
    assert record is not None
    assert (record.time, record.user, record.code) == (EVENT, user, code)
    assert record.caller_arn == (CALLER if code == "NotAuthorized" else None)


page_lines = st.one_of(
    st.tuples(any_user, codes).map(
        lambda t: line_of(t[1], t[0], stamped=False, quoted=True, spacing="spaced")
    ),
    st.tuples(bare_user, codes).map(
        lambda t: line_of(t[1], t[0], stamped=False, quoted=False, spacing="compact both")
    ),
    st.text(max_size=30).map(lambda s: "[ERROR] " + s),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(page_lines, min_size=1, max_size=6),
    st.lists(st.integers(0, 5), min_size=64, max_size=150),
)
def test_pages_without_timestamps_count_the_same_as_lines_one_by_one(
    kinds: list[str], picks: list[int]
) -> None:
    lines = [kinds[pick % len(kinds)] for pick in picks]
    times = [EVENT_MS + 7 * i for i in range(len(lines))]
    one_by_one, paged = FailureSummary(events=[]), FailureSummary(events=[])
    for line, event_ms in zip(lines, times, strict=True):
        one_by_one.add_line(line, event_ms)
    paged.add_lines(lines, times)
    assert paged.total == one_by_one.total
    assert paged.unparsed == one_by_one.unparsed
    assert paged.unparsed_samples == one_by_one.unparsed_samples
    assert paged.by_code == one_by_one.by_code
    assert paged.by_user.counts == one_by_one.by_user.counts
    assert paged.callers.counts == one_by_one.callers.counts
    assert (paged.first_seen, paged.last_seen) == (one_by_one.first_seen, one_by_one.last_seen)
    assert paged.events == one_by_one.events
    assert {c: list(s) for c, s in paged.samples.items()} == {
        c: list(s) for c, s in one_by_one.samples.items()
    }


# Hostile input: lines without a timestamp cost linear time too (the cap applies as before). ----
BARE_HEAD = "[ERROR] Failed to authenticate the connection request for user "
BARE_CRAFTED = [
    repeated(BARE_HEAD, " because ", IAM_SUFFIX),
    repeated(BARE_HEAD, " due", " to" + IAM_SUFFIX),
    repeated(BARE_HEAD, " due  ", IAM_SUFFIX),
    repeated(BARE_HEAD, "for user ", IAM_SUFFIX),
    repeated(BARE_HEAD + "u because caller '", "\t", IAM_SUFFIX),
    repeated(BARE_HEAD + "u because ", "caller 'arn:", IAM_SUFFIX),
    repeated("[ERROR] ", " ", IAM_SUFFIX),
    repeated(" ", " ", "[ERROR]" + IAM_SUFFIX),
]


def test_crafted_lines_without_a_timestamp_cost_linear_time() -> None:
    for line_of_size in BARE_CRAFTED:
        assert_linear(lambda line: parse_line(line, EVENT_MS), line_of_size, IAM_N)
        assert_linear(add_line, line_of_size, IAM_N)


def test_a_line_without_a_timestamp_over_the_cap_is_unparsed() -> None:
    from bot.domain.parse import MAX_LINE

    head = line_of("InvalidToken", "", stamped=False, quoted=False, spacing="spaced")
    at_cap = head.replace("user  because", "user " + "u" * (MAX_LINE - len(head)) + " because")
    over = at_cap.replace("user u", "user uu")
    assert (len(at_cap), len(over)) == (MAX_LINE, MAX_LINE + 1)
    summary = FailureSummary()
    summary.add_lines([at_cap] * 40 + [over] * 40, [EVENT_MS] * 80)
    assert (summary.total, summary.unparsed) == (40, 40)
