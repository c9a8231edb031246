"""The MySQL / MariaDB error-log reader: real lines of each engine, lines that are no refused login,
hostile user names, and property tests that any user and host round-trip in every flavour."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.mysql_error_log import (
    MARIADB_LOGGING,
    MAX_LINE,
    MYSQL_LOGGING,
    DeniedLogin,
    DeniedLogins,
    Unreadable,
    classify,
    login_logging,
)
from bot.sandbox.seed_mysql_error_log import Flavour, denied_line, engine_moment, noise_lines


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


# Lines as the engines print them (MySQL 8.0 and MariaDB 10.11 on Ubuntu, MySQL 5.7, Percona 8.0).
REAL = [
    (
        "2026-10-02T08:44:19.951075Z 18 [Note] [MY-010926] [Server] Access denied for user "
        "'eviluser'@'localhost' (using password: YES)",
        DeniedLogin(ms("2026-10-02T08:44:19.951"), 1, "eviluser", "localhost", 18, True),
    ),
    (
        "2026-10-02T08:44:19.914365Z 16 [Note] [MY-010925] [Server] Access denied for user "
        "'root'@'localhost'",
        DeniedLogin(ms("2026-10-02T08:44:19.914"), 1, "root", "localhost", 16, None),
    ),
    (
        "2017-09-13T09:58:10.190364Z 9 [Note] Access denied for user 'root'@'localhost' "
        "(using password: NO)",
        DeniedLogin(ms("2017-09-13T09:58:10.190"), 1, "root", "localhost", 9, False),
    ),
    (
        "2026-10-02  9:26:33 31 [Warning] Access denied for user 'root'@'localhost'",
        DeniedLogin(ms("2026-10-02T09:26:33"), 1000, "root", "localhost", 31, None),
    ),
    (
        "2016-01-15 11:16:09 11741 [Warning] Access denied for user ''@'10.94.185.217' "
        "(using password: NO)",
        DeniedLogin(ms("2016-01-15T11:16:09"), 1000, "", "10.94.185.217", 11741, False),
    ),
    (
        "2018-12-27T11:14:54.687626Z 48 [Note] [MY-010926] [Server] Access denied for user "
        "'root'@'172.30.0.3' (using password: NO)",
        DeniedLogin(ms("2018-12-27T11:14:54.687"), 1, "root", "172.30.0.3", 48, False),
    ),
]


@pytest.mark.parametrize(("line", "want"), REAL)
def test_real_lines_of_each_engine(line: str, want: DeniedLogin) -> None:
    assert classify(line) == want
    assert want.database == ""  # the error log names none


def test_an_offset_time_is_read_as_utc() -> None:
    # log_timestamps=SYSTEM on a server two hours east of UTC.
    line = (
        "2026-10-02T10:44:19.951075+02:00 18 [Note] [MY-010926] [Server] Access denied for user "
        "'app'@'10.0.1.67' (using password: YES)"
    )
    found = classify(line)
    assert isinstance(found, DeniedLogin)
    assert found.ms == ms("2026-10-02T08:44:19.951")


@pytest.mark.parametrize(
    "line",
    [
        "2026-10-02T08:44:19.950964Z 18 [Warning] [MY-013360] [Server] Plugin sha256_password "
        "reported: ''sha256_password' is deprecated'",
        # A logged-in user refused a database: no failed login.
        "2022-11-28T04:32:25.031306Z 9 [Note] [MY-010914] [Server] Access denied for user "
        "'sample'@'%' to database 'sys'",
        "2026-10-01 12:00:00 12 [Warning] Access denied for user 'u'@'h' to database 'x'",
        # A replication error quoting the source's refusal.
        "2026-08-03T19:20:00.000000Z 30 [ERROR] [MY-010584] [Repl] Replica I/O for channel '': "
        "error connecting to source 'repl@mysql-1:3306' - retry-time: 60 retries: 1 message: "
        "Access denied for user 'repl'@'10.0.0.2' (using password: YES), Error_code: MY-001045",
        "2026-10-01 12:00:00 0 [Note] mysqld: ready for connections.",
        "",
    ],
)
def test_other_lines_are_no_failed_login(line: str) -> None:
    assert classify(line) is None


@pytest.mark.parametrize(
    "line",
    [
        "[Warning] Access denied for user 'u'@'h' (using password: YES)",  # no time
        "2026-10-01 12:00:00 1 [Warning] Access denied for user 'u'@'h' wat",  # no fixed end
        "2026-10-01 12:00:00 1 [Warning] Access denied for user 'u' (using password: YES)",
        "2026-13-01 12:00:00 1 [Warning] Access denied for user 'u'@'h' (using password: YES)",
        "2026-10-01T12:00:00.1+25:00 1 [Note] Access denied for user 'u'@'h' (using password: NO)",
        "2026-10-01 12:00:00 1 [Warning] Access denied for user 'u'@'a b' (using password: NO)",
        "2026-10-01 12:00:00 1 [Warning] Access denied for user '"
        + "x" * MAX_LINE
        + "'@'h' (using password: NO)",
    ],
)
def test_a_refusal_that_cannot_be_read_is_unreadable_never_misread(line: str) -> None:
    assert isinstance(classify(line), Unreadable)


def test_hostile_user_names_cannot_move_the_host() -> None:
    line = denied_line(datetime(2026, 10, 2, 8, tzinfo=UTC), "a'@'1.2.3.4", "10.0.0.5")
    found = classify(line)
    assert isinstance(found, DeniedLogin)
    assert (found.user, found.client) == ("a'@'1.2.3.4", "10.0.0.5")
    # A name imitating another message's end still reads as the name it is.
    tricky = denied_line(
        datetime(2026, 10, 2, 8, tzinfo=UTC), "x' (using password: NO)", "h", "mariadb"
    )
    found = classify(tricky)
    assert isinstance(found, DeniedLogin)
    assert (found.user, found.client, found.used_password) == ("x' (using password: NO)", "h", True)


def test_the_one_ambiguous_shape_is_skipped_not_misread() -> None:
    # Without an error code or a password clause, a user named "x' to database 'y" reads exactly
    # like ER_DBACCESS_DENIED: it is not counted as a login of a made-up user.
    line = denied_line(
        datetime(2026, 10, 2, 8, tzinfo=UTC), "x' to database 'y", "h", "mariadb", password=None
    )
    assert classify(line) is None
    # MySQL 8's code says it is a failed login.
    mysql = denied_line(
        datetime(2026, 10, 2, 8, tzinfo=UTC), "x' to database 'y", "h", password=None
    )
    found = classify(mysql)
    assert isinstance(found, DeniedLogin)
    assert found.user == "x' to database 'y"


def test_a_read_counts_what_it_skipped() -> None:
    moment = datetime(2026, 10, 2, 8, 0, 1, 250_000, tzinfo=UTC)
    lines = [
        denied_line(moment, "app", "10.0.1.67"),
        *noise_lines(moment, "mysql8"),
        "garbled Access denied for user 'app'",
    ]
    read = DeniedLogins()
    read.add_lines(lines)
    assert [(x.user, x.client) for x in read.logins] == [("app", "10.0.1.67")]
    assert (read.unreadable, read.other) == (1, 3)
    assert read.unreadable_samples == ["garbled Access denied for user 'app'"]


def test_the_setting_that_logs_them_per_engine() -> None:
    assert login_logging("aurora-mysql") is MYSQL_LOGGING
    assert login_logging("mysql") is MYSQL_LOGGING
    assert login_logging("mariadb") is MARIADB_LOGGING
    assert MYSQL_LOGGING.logs_them(None) is False  # MySQL 8.0's default, 2
    assert MYSQL_LOGGING.logs_them("3") is True
    assert MYSQL_LOGGING.logs_them("2") is False
    assert MYSQL_LOGGING.logs_them("{dbinstance}") is None
    assert MARIADB_LOGGING.logs_them(None) is True  # MariaDB's default, 2
    assert MARIADB_LOGGING.logs_them("1") is False


FLAVOURS: list[Flavour] = ["mysql8", "mysql57", "mariadb"]
# Hosts as the server writes them: addresses, resolved names, `localhost`, `%`-free.
hosts = st.one_of(
    st.ip_addresses().map(str),
    st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,60}[a-z0-9])?", fullmatch=True),
    st.just("localhost"),
)
times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=500, deadline=None)
@given(
    user=st.text(max_size=80),
    host=hosts,
    moment=times,
    flavour=st.sampled_from(FLAVOURS),
    password=st.sampled_from([True, False, None]),
    thread=st.integers(0, 2**63),
)
def test_any_user_and_host_round_trip(
    user: str, host: str, moment: datetime, flavour: Flavour, password: bool | None, thread: int
) -> None:
    ambiguous = password is None and flavour != "mysql8" and "' to database '" in f"'{user}'@'"
    line = denied_line(moment, user, host, flavour, thread=thread, password=password)
    found = classify(line)
    if ambiguous:
        assert found is None
        return
    stamped = engine_moment(moment, flavour)
    assert found == DeniedLogin(
        ms=calendar.timegm(stamped.utctimetuple()) * 1000 + stamped.microsecond // 1000,
        precision_ms=1000 if flavour == "mariadb" else 1,
        user=user,
        client=host,
        thread=thread,
        used_password=password,
    )


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_classified_without_raising(text: str) -> None:
    found = classify(text)
    assert found is None or isinstance(found, DeniedLogin | Unreadable)
    with_marker = classify(f"2026-10-01 12:00:00 1 [Warning] Access denied for user {text}")
    assert with_marker is None or isinstance(with_marker, DeniedLogin | Unreadable)


def test_seeded_lines_are_read_in_every_flavour() -> None:
    moment = datetime(2026, 10, 2, 9, 5, 7, 123_456, tzinfo=UTC)
    for flavour in FLAVOURS:
        found = classify(denied_line(moment, "app", "10.0.1.67", flavour))
        assert isinstance(found, DeniedLogin), flavour
        assert abs(found.ms - int(moment.timestamp() * 1000)) < 1000
        assert moment - timedelta(seconds=1) < datetime.fromtimestamp(found.ms / 1000, UTC)
