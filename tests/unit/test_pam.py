from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.pam import PAM_PHRASE, PamFailure, PamLines, Unreadable, classify
from bot.seed_postgresql import Client, pam_lines

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
