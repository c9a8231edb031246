"""Benchmark: the MySQL / MariaDB error-log reader and the `failures … clients` path on it.

    python -m benchmarks.mysql_error_log [--failures 100000]

Measured: lines a second per flavour (MySQL 8, MySQL 5.7, MariaDB); crafted lines (a user name of
`'@'` repeated up to the line cap, which the reader splits from the line's end) against plain
ones; and the whole path for --failures iam failures (the default is the event cap): read both logs
a page at a time, then match. Goal: linear, a crafted line costing about what a real one does.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from bot.domain.correlate import correlate
from bot.domain.mysql_error_log import MAX_LINE, DeniedLogins, classify
from bot.domain.summary import FailureSummary
from bot.sandbox.seed_aws import Failure, format_line
from bot.sandbox.seed_mysql_error_log import Flavour, denied_line

PAGE = 10_000
START = datetime(2026, 10, 2, 8, tzinfo=UTC)
FLAVOURS: tuple[Flavour, ...] = ("mysql8", "mysql57", "mariadb")


def per_second(lines: list[str]) -> float:
    started = time.perf_counter()
    for line in lines:
        classify(line)
    return len(lines) / (time.perf_counter() - started)


def clients_path(count: int) -> None:
    iam_page: list[str] = []
    error_page: list[str] = []
    for i in range(count):
        moment = START + timedelta(milliseconds=3 * i)
        iam_page.append(format_line(Failure(moment, f"svc{i % 40}", "ExpiredToken")))
        host = f"10.0.{i % 7}.{i % 200}"
        error_page.append(denied_line(moment, f"svc{i % 40}", host, thread=i))
    started = time.perf_counter()
    summary = FailureSummary(events=[])
    for offset in range(0, count, PAGE):
        summary.add_lines(iam_page[offset : offset + PAGE])
    found = DeniedLogins()
    for offset in range(0, count, PAGE):
        found.add_lines(error_page[offset : offset + PAGE])
    assert summary.events is not None
    matched = correlate(summary.events, found.logins).matched
    seconds = time.perf_counter() - started
    print(
        f"clients path: {count:,} failures and error lines, {matched:,} matched in {seconds:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--failures", type=int, default=100_000)
    args = parser.parse_args()
    for flavour in FLAVOURS:
        lines = [
            denied_line(START + timedelta(milliseconds=i), f"user{i % 50}", "10.0.1.67", flavour)
            for i in range(50_000)
        ]
        print(f"{flavour}: {per_second(lines):,.0f} lines/s")
    plain = denied_line(START, "app", "10.0.1.67")
    crafted = denied_line(START, "'@'" * ((MAX_LINE - 150) // 3), "10.0.1.67")
    for name, line in (("plain", plain), (f"crafted {len(crafted):,} chars", crafted)):
        print(f"{name}: {1e6 / per_second([line] * 20_000):.1f} µs/line")
    clients_path(args.failures)


if __name__ == "__main__":
    main()
