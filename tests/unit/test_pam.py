from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.pam import (
    MAX_LINE,
    MAX_NAME,
    PAM_PHRASE,
    PamFailure,
    PamLines,
    Unreadable,
    classify,
    fast_failure,
    parse_failure,
)
from bot.sandbox.seed_postgresql_log import Client, pam_lines

REAL = [
    "2025-08-11 03:36:09 UTC:10.0.1.67(40050):testuser@test_db:[1271]:LOG: pam_authenticate failed: Permission denied",
    '2025-08-11 03:36:09 UTC:10.0.1.67(40050):testuser@test_db:[1271]:FATAL: PAM authentication failed for user "testuser"',
    '2025-08-11 03:36:09 UTC:10.0.1.67(40050):testuser@test_db:[1271]:DETAIL: Connection matched file "/rdsdbdata/config/pg_hba.conf" line 13: "hostssl all +rds_iam all pam"',
]
T = datetime(2025, 8, 11, 3, 36, 9, tzinfo=UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_reads_the_documented_example_and_skips_its_log_and_detail_lines() -> None:
    assert classify(REAL[0]) is None
    assert classify(REAL[2]) is None
    assert classify(REAL[1]) == PamFailure(
        ms=ms(T),
        precision_ms=1000,
        user="testuser",
        client="10.0.1.67",
        port=40050,
        database="test_db",
        pid=1271,
    )


@pytest.mark.parametrize(
    ("remote", "client", "port"),
    [
        ("2600:1f18:1234:5600::17(5432)", "2600:1f18:1234:5600::17", 5432),
        ("::1(40000)", "::1", 40000),
        ("[local]", "[local]", None),
        ("", "", None),
    ],
)
def test_reads_ipv6_local_and_missing_clients(remote: str, client: str, port: int | None) -> None:
    line = f'2025-08-11 03:36:09 UTC:{remote}:app@orders:[7]:FATAL:  PAM authentication failed for user "app"'
    found = classify(line)
    assert isinstance(found, PamFailure)
    assert (found.client, found.port, found.database, found.user) == (client, port, "orders", "app")


def test_user_names_with_quotes_spaces_at_signs_and_colons_split_where_the_message_says() -> None:
    user = 'we"ird @user: x'
    line = f'2025-08-11 03:36:09 UTC:10.0.0.1(1):{user}@my@db:[12]:FATAL: PAM authentication failed for user "{user}"'
    found = classify(line)
    assert isinstance(found, PamFailure)
    assert (found.user, found.database) == (user, "my@db")


def test_fractions_and_numeric_zones_are_read() -> None:
    line = '2025-08-11 05:36:09.250 +02:10.0.0.1(1):u@d:[1]:FATAL: PAM authentication failed for user "u"'
    found = classify(line)
    assert isinstance(found, PamFailure)
    assert found.ms == ms(T) + 250
    assert found.precision_ms == 1


@pytest.mark.parametrize(
    "line",
    [
        f'{PAM_PHRASE} "x"',
        f'garbage 10.0.0.1 {PAM_PHRASE} "x"',
        f'2025-13-45 03:36:09 UTC:10.0.0.1(1):x@y:[1]:FATAL: {PAM_PHRASE} "x"',
        f'2025-08-11 03:36:09 UTC:10.0.0.1(1):x@y:[1]:FATAL: {PAM_PHRASE} "x" (cut',
        f'2025-08-11 03:36:09 +99:10.0.0.1(1):x@y:[1]:FATAL: {PAM_PHRASE} "x"',
    ],
)
def test_pam_lines_it_cannot_read_are_unreadable_not_errors(line: str) -> None:
    assert classify(line) == Unreadable(line)


def test_pam_lines_counts_failures_unreadable_and_other_lines() -> None:
    lines = PamLines()
    lines.add_lines([*REAL, f'{PAM_PHRASE} "x"', "2025-08-11 03:36:10 UTC::@:[5]:LOG: checkpoint"])
    assert len(lines.failures) == 1
    assert lines.unreadable == 1
    assert lines.unreadable_samples == [f'{PAM_PHRASE} "x"']
    assert lines.other == 3


names = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)
databases = st.from_regex(r"[a-z_][a-z0-9_ @-]{0,30}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(
    address=st.ip_addresses().map(str),
    port=st.integers(1, 65535),
    user=names,
    database=databases,
    pid=st.integers(1, 2**31),
    seconds=st.integers(0, 10**8),
)
def test_every_line_the_engine_writes_reads_back(
    address: str, port: int, user: str, database: str, pid: int, seconds: int
) -> None:
    moment = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    log, fatal, detail = pam_lines(moment, user, Client(address, port, database, pid))
    # The LOG and DETAIL lines around it are no PAM failure (unless the name itself says so).
    assert (classify(log) is None and classify(detail) is None) or PAM_PHRASE in user
    found = classify(fatal)
    assert found == PamFailure(ms(moment), 1000, user, address, port, database, pid)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_classified_without_raising(line: str) -> None:
    found = classify(line)
    if PAM_PHRASE not in line:
        assert found is None


def test_an_overlong_line_is_unreadable_at_once_however_it_is_crafted() -> None:
    """Many `@` and `:[` would make the patterns backtrack for seconds; no real line is this long."""
    crafted = "2025-08-11 03:36:09 UTC:1.2.3.4(5):" + "@:[1]:LOG: " * 3000 + f'{PAM_PHRASE} "a" x'
    assert classify(crafted) == Unreadable(crafted)
    longest_real = pam_lines(
        datetime(2025, 8, 11, tzinfo=UTC),
        "u" * 63,
        Client("2600:1f18:1234:5600:abcd:ef01:2345:6789", 65535, "d" * 63, 2**31),
    )[1]
    assert isinstance(classify(longest_real), PamFailure)


# Names are the client's to choose (PostgreSQL cuts them to 63 bytes) and may hold the phrase, the
# prefix's delimiters and quotes: the line must still split where the engine wrote it.
HOSTILE_PIECES = ["@", ":", ":[1]:", ":[1]:FATAL: ", f'{PAM_PHRASE} "', '"', " ", "(5):", "x"]
hostile_names = st.lists(st.sampled_from(HOSTILE_PIECES) | names, min_size=1, max_size=6).map(
    lambda pieces: "".join(pieces)[:MAX_NAME]
)


@settings(max_examples=500, deadline=None)
@given(
    address=st.ip_addresses().map(str) | st.just("[local]"),
    user=hostile_names,
    database=hostile_names,
    pid=st.integers(1, 2**31),
)
def test_hostile_names_read_back_whole(address: str, user: str, database: str, pid: int) -> None:
    fatal = pam_lines(T, user, Client(address, 5432, database, pid))[1]
    if address == "[local]":
        fatal = fatal.replace("[local](5432)", "[local]")
    found = classify(fatal)
    port = None if address == "[local]" else 5432
    assert found == PamFailure(ms(T), 1000, user, address, port, database, pid)


def test_a_name_longer_than_postgresql_allows_is_unreadable() -> None:
    fatal = pam_lines(T, "u" * (MAX_NAME + 1), Client("10.0.0.1", 5432, "d", 1))[1]
    assert classify(fatal) == Unreadable(fatal)


def test_when_the_prefix_names_another_user_the_ipv6_client_is_still_whole() -> None:
    line = f'2025-08-11 03:36:09 UTC:2600:1f18::17(5432):other@orders:[7]:FATAL: {PAM_PHRASE} "app"'
    found = classify(line)
    assert isinstance(found, PamFailure)
    assert (found.user, found.client, found.port, found.database) == (
        "app",
        "2600:1f18::17",
        5432,
        "orders",
    )


def test_statements_that_quote_the_phrase_are_unreadable_not_failures() -> None:
    statement = (
        "2025-08-11 03:36:09 UTC:10.0.0.1(1):mallory@app:[9]:LOG:  statement: "
        f"SELECT '{PAM_PHRASE} \"app\"'"
    )
    lines = PamLines()
    lines.add_lines([statement, statement + " x" * MAX_LINE, REAL[1]])
    assert (len(lines.failures), lines.unreadable, lines.other) == (1, 2, 0)


# The fast path must agree with the structural split on every line it reads.
plain_names = st.from_regex(r'[^\s@:"]{1,70}', fullmatch=True)
engine_lines = st.builds(
    lambda address, user, database, pid, seconds: pam_lines(
        T + timedelta(seconds=seconds), user, Client(address, 5432, database, pid)
    )[1],
    st.ip_addresses().map(str),
    plain_names | hostile_names,
    plain_names | hostile_names,
    st.integers(1, 2**31),
    st.integers(-(10**8), 10**8),
)
mutated_lines = st.tuples(engine_lines, st.integers(0, 200), st.text(max_size=3)).map(
    lambda t: t[0][: t[1]] + t[2] + t[0][t[1] :]
)


@settings(max_examples=500, deadline=None)
@given(engine_lines | mutated_lines)
def test_fast_path_agrees_with_the_structural_split(line: str) -> None:
    fast = fast_failure(line)
    if fast is not None:
        assert parse_failure(line) == fast
    if PAM_PHRASE in line and len(line) <= MAX_LINE:
        assert classify(line) == (fast or parse_failure(line))
