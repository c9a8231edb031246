from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.parse import MAX_LINE, fast_fields, parse_line
from bot.domain.records import CODE_FAMILIES, AuthFailure, Family
from bot.domain.summary import FailureSummary
from bot.sandbox.seed_aws import Failure, format_line

REAL_LINE = (
    "2025-08-11T04:00:05,804 [ERROR] Failed to authenticate the connection request for user "
    "'testuser' because the provided token is malformed or otherwise invalid. "
    "(Status Code: 400, Error Code: InvalidToken)"
)


def test_reads_the_documented_example() -> None:
    record = parse_line(REAL_LINE)
    assert record is not None
    assert record.time == datetime(2025, 8, 11, 4, 0, 5, 804000, tzinfo=UTC)
    assert record.level == "ERROR"
    assert record.user == "testuser"
    assert record.status == 400
    assert record.code == "InvalidToken"
    assert record.family is Family.INVALID_TOKEN
    assert record.reason.startswith("Failed to authenticate")
    assert record.caller_arn is None


def test_not_authorized_gives_the_caller_arn() -> None:
    line = (
        "2025-08-11T04:00:06,001 [ERROR] Failed to authorize the connection request for user "
        "'reporting' because the IAM policy assumed by the caller "
        "'arn:aws:sts::123456789012:assumed-role/reporting/i-1' is not authorized to perform "
        "rds-db:connect on the DB instance. (Status Code: 403, Error Code: NotAuthorized)"
    )
    record = parse_line(line)
    assert record is not None
    assert record.family is Family.INSUFFICIENT_PERMISSIONS
    assert record.caller_arn == "arn:aws:sts::123456789012:assumed-role/reporting/i-1"
    assert record.user == "reporting"


def test_suffix_spacing_and_line_breaks_are_tolerated() -> None:
    compact = REAL_LINE.replace("Error Code: InvalidToken", "Error Code:ExpiredToken")
    broken = REAL_LINE.replace(", Error Code: ", ",\n Error Code :  ")
    assert (r := parse_line(compact)) is not None
    assert r.code == "ExpiredToken"
    assert r.family is Family.INVALID_TOKEN
    assert (r := parse_line(broken)) is not None
    assert r.code == "InvalidToken"
    assert "\n" not in r.reason


def test_every_documented_code_maps_to_its_family() -> None:
    expected = {
        "InvalidToken": Family.INVALID_TOKEN,
        "ExpiredToken": Family.INVALID_TOKEN,
        "NotAuthorized": Family.INSUFFICIENT_PERMISSIONS,
        "ThrottlingException": Family.THROTTLING,
        "InternalError": Family.SERVER_ERROR,
    }
    for code, family in expected.items():
        record = parse_line(format_line(Failure(datetime(2025, 1, 1, tzinfo=UTC), "u", code)))
        assert record is not None
        assert (record.code, record.family) == (code, family)


def test_unknown_codes_are_kept_under_their_own_name() -> None:
    record = parse_line(REAL_LINE.replace("InvalidToken)", "SomethingNew)"))
    assert record is not None
    assert record.code == "SomethingNew"
    assert record.family is Family.OTHER


def test_user_names_with_quotes_and_markup_are_read_whole() -> None:
    user = "it's <!channel> *bold* ' because "
    record = parse_line(
        format_line(Failure(datetime(2025, 1, 1, tzinfo=UTC), user, "InvalidToken"))
    )
    assert record is not None
    assert record.user == user


def test_unreadable_lines_give_none() -> None:
    for line in [
        "",
        "garbage",
        "2025-08-11T04:00:05,804 [ERROR] truncated line with no",
        REAL_LINE.replace("2025-08-11", "2025-13-45"),
        REAL_LINE.replace("Error Code: InvalidToken)", "Error Code: )"),
    ]:
        assert parse_line(line) is None


@given(st.text())
def test_parser_never_raises(line: str) -> None:
    assert isinstance(parse_line(line), AuthFailure | None)


@given(st.text(alphabet=st.characters(), max_size=200).map(lambda s: REAL_LINE[:40] + s))
def test_parser_never_raises_on_near_misses(line: str) -> None:
    assert isinstance(parse_line(line), AuthFailure | None)


codes = st.sampled_from(
    ["InvalidToken", "ExpiredToken", "NotAuthorized", "ThrottlingException", "InternalError"]
) | st.from_regex(r"[A-Z][A-Za-z0-9]{0,30}", fullmatch=True)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
).map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000))
arns = st.from_regex(
    r"arn:aws:sts::[0-9]{12}:assumed-role/[A-Za-z0-9+=,.@_-]{1,64}/[a-z0-9-]{1,20}", fullmatch=True
)


@given(moments, st.text(), codes, arns, st.booleans())
def test_every_well_formed_line_reads_back(
    moment: datetime, user: str, code: str, arn: str, compact: bool
) -> None:
    failure = Failure(moment, user, code, arn)
    record = parse_line(format_line(failure, compact_suffix=compact))
    assert record is not None
    assert record.time == moment
    assert record.user == user
    assert record.code == code
    if code == "NotAuthorized":
        assert record.caller_arn == arn


# The fast paths must agree with parse_line on every line, well-formed or not.
def slow_fields(line: str) -> tuple[str, str, str | None] | None:
    record = parse_line(line)
    return None if record is None else (record.user, record.code, record.caller_arn)


well_formed = st.builds(
    lambda moment, user, code, arn, compact: format_line(
        Failure(moment, user, code, arn), compact_suffix=compact
    ),
    moments,
    st.text(max_size=40),
    codes,
    arns,
    st.booleans(),
)
mutated = st.tuples(well_formed, st.integers(0, 300), st.text(max_size=3)).map(
    lambda t: t[0][: t[1]] + t[2] + t[0][t[1] :]
)


@settings(max_examples=400, deadline=None)
@given(well_formed | mutated | st.text())
def test_fast_path_agrees_with_parse_line(line: str) -> None:
    from bot.domain.parse import stamp_time

    fast = fast_fields(line)
    if fast is not None:
        record = parse_line(line)
        assert record is not None
        assert (record.user, record.code, record.caller_arn) == fast[1:]
        assert record.time == stamp_time(fast[0])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(well_formed | mutated | st.text(max_size=30), min_size=1, max_size=6),
    st.lists(st.integers(0, 5), min_size=64, max_size=150),
)
def test_pages_count_the_same_as_lines_one_by_one(kinds: list[str], picks: list[int]) -> None:
    """A page repeats a few kinds of line, as real pages do; timestamps move on line by line.

    (Below the max_keys bound: at the bound, which pairs get itemised may follow another order.)"""
    start = datetime(2025, 8, 11, tzinfo=UTC)
    lines = []
    for i, pick in enumerate(picks):
        line = kinds[pick % len(kinds)]
        if len(line) > 24 and line[19] == ",":
            stamp = start + timedelta(milliseconds=7 * i)
            line = f"{stamp:%Y-%m-%dT%H:%M:%S},{stamp.microsecond // 1000:03d}" + line[23:]
        lines.append(line)
    one_by_one, paged = FailureSummary(), FailureSummary()
    for line in lines:
        one_by_one.add_line(line)
    paged.add_lines(lines)
    assert paged.total == one_by_one.total
    assert paged.unparsed == one_by_one.unparsed
    assert paged.by_code == one_by_one.by_code
    assert paged.by_user.counts == one_by_one.by_user.counts
    assert paged.callers.counts == one_by_one.callers.counts
    assert (paged.first_seen, paged.last_seen) == (one_by_one.first_seen, one_by_one.last_seen)
    assert {c: list(s) for c, s in paged.samples.items()} == {
        c: list(s) for c, s in one_by_one.samples.items()
    }


def test_a_line_only_parse_line_reads_keeps_its_place_among_a_pages_samples() -> None:
    """A failure the fast path leaves to parse_line (here: a trailing space) is one of the page's
    lines like the others: its sample and its event keep their place (they came last before)."""
    start = datetime(2025, 8, 11, tzinfo=UTC)
    lines = [
        format_line(Failure(start + timedelta(seconds=i), "app", "InvalidToken")) for i in range(70)
    ]
    lines[-2] += " "
    assert fast_fields(lines[-2]) is None
    assert parse_line(lines[-2]) is not None
    one_by_one, paged = FailureSummary(events=[]), FailureSummary(events=[])
    for line in lines:
        one_by_one.add_line(line)
    paged.add_lines(lines)
    assert list(paged.samples["InvalidToken"]) == list(one_by_one.samples["InvalidToken"])
    assert list(paged.samples["InvalidToken"])[-1] == lines[-1]
    assert paged.events == one_by_one.events
    assert (paged.total, paged.unparsed) == (one_by_one.total, one_by_one.unparsed) == (70, 0)


# A database user name is the client's to choose: it must never move the caller, the code or the
# user's own boundaries (security finding 5).
SPOOFED_ARN = "arn:aws:iam::123456789012:role/prod-admin"
HOSTILE_PIECES = [
    "'",
    "' because ",
    " because ",
    "' due to ",
    "for user '",
    "caller '",
    f"caller '{SPOOFED_ARN}'",
    f"' because the IAM policy assumed by the caller '{SPOOFED_ARN}' is not authorized",
    "(Status Code: 400, Error Code: NotAuthorized)",
    "(Status Code:403, Error Code:NotAuthorized)",
    " (Status Code: 400, Error Code: InvalidToken)",
    "[ERROR] ",
    "(",
    ")",
    "\n",
    "  ",
]
hostile_users = st.lists(st.sampled_from(HOSTILE_PIECES) | st.text(max_size=4), max_size=8).map(
    "".join
)
role_arns = st.from_regex(
    r"arn:aws:iam::[0-9]{12}:role/([A-Za-z0-9+=,.@_-]{1,20}/){0,3}[A-Za-z0-9+=,.@_-]{1,64}",
    fullmatch=True,
)
documented_codes = st.sampled_from(sorted(CODE_FAMILIES))


@settings(max_examples=500, deadline=None)
@given(moments, hostile_users | st.text(max_size=200), documented_codes, arns | role_arns)
def test_any_user_name_reads_back_with_the_real_caller(
    moment: datetime, user: str, code: str, arn: str
) -> None:
    for compact in (False, True):
        line = format_line(Failure(moment, user, code, arn), compact_suffix=compact)
        record = parse_line(line)
        assert record is not None
        assert (record.time, record.user, record.code) == (moment, user, code)
        assert record.caller_arn == (arn if code == "NotAuthorized" else None)
        fast = fast_fields(line)
        assert fast is None or fast[1:] == (user, code, record.caller_arn)


def test_an_arn_in_the_user_name_is_never_counted_as_a_refused_caller() -> None:
    real = "arn:aws:sts::123456789012:assumed-role/etl-role/i-1"
    spoofs = [
        f"caller '{SPOOFED_ARN}'",
        f"x' because the IAM policy assumed by the caller '{SPOOFED_ARN}' is not authorized to "
        "perform rds-db:connect on the DB instance. (Status Code: 403, Error Code: NotAuthorized)",
    ]
    moment = datetime(2025, 8, 11, 4, tzinfo=UTC)
    lines = [
        format_line(Failure(moment, spoof, code, real))
        for spoof in spoofs
        for code in ("InvalidToken", "NotAuthorized")
    ]
    one_by_one, paged = FailureSummary(), FailureSummary()
    for line in lines:
        one_by_one.add_line(line)
    paged.add_lines(lines * 16)  # 64 lines: the page path, with its cache of parsed tails
    assert one_by_one.callers.counts == {real: 2}
    assert paged.callers.counts == {real: 32}
    assert one_by_one.by_user.counts == {spoof: 2 for spoof in spoofs}


def test_a_line_over_the_cap_is_counted_as_unparsed_and_one_at_the_cap_is_read() -> None:
    moment = datetime(2025, 8, 11, 4, tzinfo=UTC)
    short = format_line(Failure(moment, "", "InvalidToken"))
    at_cap = format_line(Failure(moment, "u" * (MAX_LINE - len(short)), "InvalidToken"))
    over = format_line(Failure(moment, "u" * (MAX_LINE - len(short) + 1), "InvalidToken"))
    assert len(at_cap) == MAX_LINE
    assert isinstance(parse_line(at_cap), AuthFailure)
    assert parse_line(over) is None
    assert fast_fields(over) is None
    summary = FailureSummary()
    summary.add_lines([over, *[short] * 63])
    assert (summary.total, summary.unparsed) == (63, 1)
    assert summary.unparsed_samples == [over[:500]]
    assert summary.first_seen == moment
