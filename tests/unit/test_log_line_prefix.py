"""Reading PAM failures of any log_line_prefix, csvlog and jsonlog (bot/domain/log_line_prefix.py).

The writer here follows PostgreSQL's own (elog.c log_line_prefix, csvlog.c, jsonlog.c) so that
random prefixes and values round-trip through the reader."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.domain.log_line_prefix import (
    DEFAULT_PREFIX,
    Escape,
    LogFormat,
    compile_prefix,
    line_reader,
    read_csv_line,
    read_json_line,
    tokenize,
    zone_offset,
)
from bot.domain.pam import MAX_LINE, MAX_NAME, PAM_PHRASE, PamFailure, PamLines, Unreadable
from tests.unit.test_parser_cost import GROWTH, assert_linear

T = datetime(2025, 8, 11, 3, 36, 9, 250_000, tzinfo=UTC)
T_MS = int(T.timestamp() * 1000)


@dataclass(frozen=True)
class Session:
    """What PostgreSQL knows of a connection when it logs its PAM failure."""

    moment: datetime  # aware, in the log's time zone
    user: str
    database: str
    host: str  # an address or "[local]"
    port: int | None
    pid: int
    app: str = ""
    line_number: int = 1


def pg_value(letter: str, s: Session) -> str:
    started = s.moment - timedelta(milliseconds=3)
    stamp = s.moment.strftime("%Y-%m-%d %H:%M:%S")
    match letter:
        case "a":
            return s.app
        case "u":
            return s.user
        case "d":
            return s.database
        case "b":
            return "client backend"
        case "p":
            return str(s.pid)
        case "P":
            return ""  # no parallel leader
        case "t":
            return f"{stamp} {s.moment.strftime('%Z')}"
        case "m":
            return f"{stamp}.{s.moment.microsecond // 1000:03d} {s.moment.strftime('%Z')}"
        case "n":
            return f"{int(s.moment.timestamp())}.{s.moment.microsecond // 1000:03d}"
        case "s":
            return f"{started.strftime('%Y-%m-%d %H:%M:%S')} {started.strftime('%Z')}"
        case "i":
            return "authentication"
        case "e":
            return "28000"
        case "c":
            return f"{int(started.timestamp()):x}.{s.pid:x}"
        case "l":
            return str(s.line_number)
        case "v":
            return "3/1"
        case "x" | "Q":
            return "0"
        case "r":
            return s.host if s.port is None else f"{s.host}({s.port})"
        case "h":
            return s.host
        case "L":
            return "10.0.0.5"
    return ""


def pg_prefix(prefix: str, s: Session) -> str:
    """log_line_prefix as PostgreSQL expands it for a client backend."""
    out = []
    for token in tokenize(prefix):
        if isinstance(token, str):
            out.append(token)
            continue
        value = pg_value(token.letter, s)
        out.append(value.rjust(token.pad) if token.pad >= 0 else value.ljust(-token.pad))
    return "".join(out)


def pg_line(prefix: str, s: Session) -> str:
    return f'{pg_prefix(prefix, s)}FATAL:  {PAM_PHRASE} "{s.user}"'


def expected(prefix: str, s: Session) -> PamFailure:
    letters = {t.letter for t in tokenize(prefix) if isinstance(t, Escape)}
    precise = letters & {"m", "n"}
    ms = int(s.moment.timestamp()) * 1000 + (s.moment.microsecond // 1000 if precise else 0)
    client, port = "", None
    if "r" in letters:
        client, port = s.host, s.port
    elif "h" in letters:
        client = s.host
    return PamFailure(
        ms=ms,
        precision_ms=1 if precise else 1000,
        user=s.user,
        client=client,
        port=port,
        database=s.database if "d" in letters else "",
        pid=s.pid if "p" in letters else 0,
    )


def test_the_tokenizer_reads_padding_percent_and_ignores_q_and_unknown_letters() -> None:
    assert tokenize("%-10u|%5p %% %q%Z%") == [Escape("u", -10), "|", Escape("p", 5), " % "]


@pytest.mark.parametrize(
    ("prefix", "zone", "line", "want"),
    [
        (  # PostgreSQL's stock prefix: no client, no database
            "%m [%p] ",
            None,
            f'2025-08-11 05:36:09.250 CEST [77] FATAL:  {PAM_PHRASE} "app"',
            PamFailure(T_MS, 1, "app", "", None, "", 77),
        ),
        (  # Debian's: user and database after %q
            "%m [%p] %q%u@%d ",
            "Europe/Berlin",
            f'2025-08-11 05:36:09.250 CEST [77] app@my db FATAL:  {PAM_PHRASE} "app"',
            PamFailure(T_MS, 1, "app", "", None, "my db", 77),
        ),
        (  # RDS's with line number, SQLSTATE and application name
            "%t:%r:%u@%d:%a:[%p]:%l:%e:",
            None,
            f'2025-08-10 23:36:09 EDT:2600:1f18::17(5432):a@b@c@d:psql:[12]:1:28000:FATAL:  {PAM_PHRASE} "a@b"',
            PamFailure(T_MS - 250, 1000, "a@b", "2600:1f18::17", 5432, "c@d", 12),
        ),
        (  # a zone without an abbreviation; session id; host without port
            "%m %c %h %u %d ",
            None,
            f'2025-08-11 09:21:09.250 +0545 6899a1f9.1f4 10.0.0.9 u d FATAL:  {PAM_PHRASE} "u"',
            PamFailure(T_MS, 1, "u", "10.0.0.9", None, "d", 0),
        ),
        (  # epoch time, padded fields
            "%n|%-8u|%10d|%5p|",
            None,
            f'{T_MS // 1000}.250|bob     |     sales| 4242|FATAL:  {PAM_PHRASE} "bob"',
            PamFailure(T_MS, 1, "bob", "", None, "sales", 4242),
        ),
    ],
)
def test_prefixes_of_real_parameter_groups(
    prefix: str, zone: str | None, line: str, want: PamFailure
) -> None:
    assert compile_prefix(prefix, zone).read(line) == want


def test_the_default_prefix_reads_like_classify() -> None:
    line = f'2025-08-11 03:36:09 UTC:10.0.1.67(40050):testuser@test_db:[1271]:FATAL: {PAM_PHRASE} "testuser"'
    want = PamFailure(T_MS - 250, 1000, "testuser", "10.0.1.67", 40050, "test_db", 1271)
    assert compile_prefix(DEFAULT_PREFIX).read(line) == want
    assert line_reader(LogFormat())(line) == want


def test_a_named_zone_is_resolved_by_the_log_timezone_across_a_dst_fold() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    local = datetime(2025, 10, 26, 2, 30)  # happens twice: CEST then CET
    assert zone_offset("CEST", local, berlin) == timedelta(hours=2)
    assert zone_offset("CET", local, berlin) == timedelta(hours=1)
    assert zone_offset("CET", local) == timedelta(hours=1)  # the table, without a zone
    assert zone_offset("IST", local) is None  # India, Ireland or Israel: not guessed
    assert zone_offset("+0530", local) == timedelta(hours=5, minutes=30)
    assert zone_offset("-03", local) == timedelta(hours=-3)


def test_unknown_abbreviation_and_adjacent_fields_are_unreadable() -> None:
    line = f'2025-08-11 03:36:09 XYZ [1] FATAL:  {PAM_PHRASE} "u"'
    assert compile_prefix("%t [%p] ").read(line) == Unreadable(line)
    glued = compile_prefix("%t %p%l ")
    assert not glued.readable
    line = f'2025-08-11 03:36:09 UTC 123 FATAL:  {PAM_PHRASE} "u"'
    assert glued.read(line) == Unreadable(line)
    assert glued.read("2025-08-11 03:36:09 UTC 123 LOG: checkpoint") is None


def test_a_prefix_naming_another_user_reads_the_message_user() -> None:
    line = f'2025-08-11 03:36:09 UTC:1.2.3.4(5):other@db:[7]:FATAL:  {PAM_PHRASE} "app"'
    found = compile_prefix("%t:%r:%u@%d:[%p]:").read(line)
    assert found == PamFailure(T_MS - 250, 1000, "app", "1.2.3.4", 5, "db", 7)


def test_statements_quoting_the_phrase_are_not_failures() -> None:
    reader = compile_prefix("%m [%p] ")
    line = f"2025-08-11 03:36:09.250 UTC [9] LOG:  statement: SELECT '{PAM_PHRASE} \"x\"'"
    assert reader.read(line) == Unreadable(line)


# Random prefixes: escapes (with random padding) separated by text PostgreSQL users put there.
SEPARATORS = [":", " ", "@", "|", "[", "] ", ":[", "]:", " - ", ",", "=", "/"]
LETTERS = list("audbpPtmnsiecl vxQrhL".replace(" ", ""))
escapes = st.tuples(st.sampled_from(LETTERS), st.sampled_from([0, 0, 0, 5, -12, 20])).map(
    lambda e: f"%{e[1] or ''}{e[0]}"
)
times = st.sampled_from(["%t", "%m", "%n"])
prefixes = st.builds(
    lambda time_escape, rest, seps, end: (
        "".join(e + s for e, s in zip([time_escape, *rest], seps, strict=False)) + end
    ),
    times,
    # Each escape once: `%5d:%d` with a database named `:` has two readings, as PostgreSQL's own.
    st.lists(escapes, max_size=6, unique_by=lambda escape: escape[-1]),
    st.lists(st.sampled_from(SEPARATORS), min_size=7, max_size=7),
    st.sampled_from(["", " ", ":"]),
).map(lambda p: p.replace("%%", ""))

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "America/St_Johns",
    "America/Sao_Paulo",
]
HOSTILE = ["@", ":", ":[1]:", "]:FATAL: ", f'{PAM_PHRASE} "', '"', " ", "(5):", "|", "%", "x"]
names = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)
hostile = st.lists(st.sampled_from(HOSTILE) | names, min_size=1, max_size=5).map(
    lambda pieces: "".join(pieces)[:MAX_NAME]
)
apps = st.from_regex(r"[A-Za-z0-9_.]{0,20}", fullmatch=True)
clients = st.one_of(
    st.tuples(st.ip_addresses().map(str), st.integers(1, 65535)),
    st.just(("[local]", None)),
)
sessions = st.builds(
    lambda zone, seconds, micros, user, database, client, pid, app, number: Session(
        (
            datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds, microseconds=micros)
        ).astimezone(ZoneInfo(zone)),
        user,
        database,
        client[0],
        client[1],
        pid,
        app,
        number,
    ),
    st.sampled_from(ZONES),
    st.integers(0, 10**9),
    st.integers(0, 999_999),
    hostile,
    hostile,
    clients,
    st.integers(1, 2**31),
    apps,
    st.integers(1, 10**6),
)


@settings(max_examples=600, deadline=None)
@given(prefix=prefixes, session=sessions)
def test_random_prefixes_and_values_read_back(prefix: str, session: Session) -> None:
    letters = {t.letter for t in tokenize(prefix) if isinstance(t, Escape)}
    if "h" in letters and "r" not in letters:
        session = replace(session, port=None)
    after_h = prefix.partition("%h")[2].lstrip("%-0123456789h")
    # Documented: an IPv6 address, `:`, and a text field holding `:` may be split elsewhere.
    assume(not (":" in session.host and after_h.startswith(":") and ":" in session.database))
    zone = str(session.moment.tzinfo)
    reader = compile_prefix(prefix, zone)
    line = pg_line(prefix, session)
    found = reader.read(line)
    if not reader.readable:
        assert found == Unreadable(line)
        return
    # A database shorter than its padding loses spaces on the padded side: PostgreSQL wrote none.
    assume(session.database == session.database.strip())
    # Documented: a padded field whose first reading is narrower than its padding is Unreadable.
    padded = any(isinstance(t, Escape) and t.pad for t in tokenize(prefix))
    if padded and found == Unreadable(line):
        return
    assert found == expected(prefix, session)


@settings(max_examples=300, deadline=None)
@given(prefix=prefixes, session=sessions, app=hostile)
def test_hostile_application_names_never_raise_and_never_change_the_user_or_time(
    prefix: str, session: Session, app: str
) -> None:
    """An application name may hold the separators. With a database in the prefix too, the two
    cannot always be told apart: the line may then be Unreadable, but the user (the message's)
    and the time (a fixed field) are never misread."""
    session = replace(session, app=app)
    line = pg_line(prefix, session)
    found = compile_prefix(prefix, str(session.moment.tzinfo)).read(line)
    if isinstance(found, PamFailure):
        want = expected(prefix, session)
        assert (found.user, found.ms) == (want.user, want.ms)
    else:
        assert found == Unreadable(line)


@settings(max_examples=300, deadline=None)
@given(prefix=prefixes, line=st.text(max_size=400))
def test_any_text_is_read_without_raising(prefix: str, line: str) -> None:
    found = compile_prefix(prefix).read(line + f' {PAM_PHRASE} "x"')
    assert found is None or isinstance(found, PamFailure | Unreadable)
    assert compile_prefix(prefix).read(line.replace("PAM", "")) is None


@pytest.mark.parametrize(
    "prefix", ["%t:%r:%u@%d:%a:[%p]:", "%m %-20a %u %d %i %b [%p] ", "%d,%a,%u,%m ", "%m %h:%d:"]
)
@pytest.mark.parametrize("piece", [":", " ", "@:", ":[1]:", ", ", "a ", "1", ":1"])
def test_crafted_lines_cost_linear_time(prefix: str, piece: str) -> None:
    """Lines of separators would make a backtracking pattern take quadratic or exponential time;
    the cost grows with the line like test_parser_cost's parsers (lines stay under MAX_LINE)."""
    reader = compile_prefix(prefix)

    def line_of(n: int) -> str:
        return f'2025-08-11 03:36:09.250 UTC {piece * (n // len(piece))}FATAL:  {PAM_PHRASE} "a"'

    assert len(line_of(GROWTH * 100)) <= MAX_LINE
    assert_linear(reader.read, line_of, 100)


# csvlog: the columns of PostgreSQL 15/16 in order.
def csv_record(s: Session, message: str | None = None, *, query: str = "") -> str:
    moment = s.moment
    stamp = (
        f"{moment.strftime('%Y-%m-%d %H:%M:%S')}.{moment.microsecond // 1000:03d} "
        f"{moment.strftime('%Z')}"
    )
    connection = s.host if s.port is None else f"{s.host}:{s.port}"
    row = [
        stamp, s.user, s.database, s.pid, connection, "6899a1f9.1f4", s.line_number,
        "authentication", stamp, "3/1", 0, "FATAL", "28000",
        message if message is not None else f'{PAM_PHRASE} "{s.user}"',
        'Connection matched file "pg_hba.conf" line 13', "", "", "", "", query, "", "",
        s.app, "client backend", "", 0,
    ]  # fmt: skip
    out = io.StringIO()
    csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerow(row)
    return out.getvalue()


def json_record(s: Session, message: str | None = None) -> str:
    moment = s.moment
    record: dict[str, object] = {
        "timestamp": f"{moment.strftime('%Y-%m-%d %H:%M:%S')}.{moment.microsecond // 1000:03d} "
        f"{moment.strftime('%Z')}",
        "user": s.user,
        "dbname": s.database,
        "pid": s.pid,
        "remote_host": s.host,
        "session_id": "6899a1f9.1f4",
        "line_num": s.line_number,
        "ps": "authentication",
        "session_start": "2025-08-11 03:36:09 UTC",
        "vxid": "3/1",
        "txid": 0,
        "error_severity": "FATAL",
        "state_code": "28000",
        "message": message if message is not None else f'{PAM_PHRASE} "{s.user}"',
        "application_name": s.app,
        "backend_type": "client backend",
        "query_id": 0,
    }
    if s.port is not None:
        record["remote_port"] = s.port
    return json.dumps(record, ensure_ascii=False)


def structured_expected(s: Session) -> PamFailure:
    ms = int(s.moment.timestamp()) * 1000 + s.moment.microsecond // 1000
    return PamFailure(ms, 1, s.user, s.host, s.port, s.database, s.pid)


@settings(max_examples=300, deadline=None)
@given(session=sessions)
def test_csv_and_json_records_read_back(session: Session) -> None:
    zone = ZoneInfo(str(session.moment.tzinfo))
    assert read_csv_line(csv_record(session), zone) == structured_expected(session)
    assert read_json_line(json_record(session), zone) == structured_expected(session)
    both = line_reader(LogFormat(destination="stderr,csvlog,jsonlog", zone=str(zone)))
    assert both(csv_record(session)) == structured_expected(session)
    assert both(json_record(session)) == structured_expected(session)


def test_csv_and_json_records_quoting_the_phrase_elsewhere_are_not_failures() -> None:
    s = Session(T, "mallory", "app", "10.0.0.1", 5, 9)
    statement = f"statement: SELECT '{PAM_PHRASE} \"app\"'"
    assert read_csv_line(csv_record(s, "duration: 1 ms", query=statement)) is None
    assert read_json_line(json_record(s, statement)) is None


def test_csv_and_json_records_that_break_their_format_are_unreadable() -> None:
    s = Session(T, "u", "d", "10.0.0.1", 5, 9)
    for line in (
        csv_record(s)[:40] + '"' + PAM_PHRASE,  # an open quote
        '"x",' + PAM_PHRASE,  # too few columns
        csv_record(s).replace("2025-08-11", "2025-13-11"),
        csv_record(s, f'{PAM_PHRASE} "someone else"'),  # user column disagrees
    ):
        assert read_csv_line(line) == Unreadable(line)
    for line in (
        json_record(s)[:-1],
        json.dumps([PAM_PHRASE]),
        json_record(s).replace('"pid": 9', '"pid": "nine"'),
    ):
        assert read_json_line(line) == Unreadable(line)


def test_ipv6_and_local_connections_in_csv() -> None:
    for host, port in (("2600:1f18::17", 5432), ("[local]", None), ("::1", 1)):
        s = Session(T, "u", "d", host, port, 9)
        found = read_csv_line(csv_record(s))
        assert isinstance(found, PamFailure)
        assert (found.client, found.port) == (host, port)


def test_pam_lines_use_the_reader_of_the_log_format() -> None:
    s = Session(T, "app", "orders", "10.0.0.1", 5, 9)
    line = pg_line("%m [%p] %q%u@%d ", s)
    default = PamLines()
    default.add_lines([line])
    assert (len(default.failures), default.unreadable) == (0, 1)
    custom = PamLines(reader=line_reader(LogFormat(prefix="%m [%p] %q%u@%d ")))
    custom.add_lines([line, csv_record(s), "2025-08-11 03:36:09.250 UTC [1] LOG: checkpoint"])
    assert custom.failures == [PamFailure(T_MS, 1, "app", "", None, "orders", 9)]
    assert (custom.unreadable, custom.other) == (1, 1)


def test_the_default_prefix_in_a_named_zone_keeps_classify_and_reads_the_zone() -> None:
    line = f'2025-08-11 09:06:09 IST:10.0.0.1(5):u@d:[7]:FATAL:  {PAM_PHRASE} "u"'
    assert line_reader(LogFormat())(line) == Unreadable(line)  # IST is ambiguous without a zone
    found = line_reader(LogFormat(zone="Asia/Kolkata"))(line)
    assert found == PamFailure(T_MS - 250, 1000, "u", "10.0.0.1", 5, "d", 7)


def test_a_prefix_without_a_time_takes_the_cloudwatch_events_time() -> None:
    """`[%p] %h ` has no %t/%m/%n: the failure is read, and its time is the event's (a second
    wide); without the event's time it cannot be matched, so it is Unreadable."""
    reader = compile_prefix("[%p] %h ")
    line = f'[4242] 10.0.1.67 FATAL:  {PAM_PHRASE} "app"'
    lines = PamLines(reader=reader.read)
    lines.add_timed_lines([line], [1_754_883_369_000])
    assert lines.failures == [
        PamFailure(1_754_883_369_000, 1000, "app", "10.0.1.67", None, "", 4242)
    ]
    untimed = PamLines(reader=reader.read)
    untimed.add_lines([line])
    assert (untimed.failures, untimed.unreadable) == ([], 1)
