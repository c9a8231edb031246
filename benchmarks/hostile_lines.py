"""Benchmark: what crafted log lines cost the parsers (security finding 7).

    python -m benchmarks.hostile_lines [--statements 10000]

Any database user can write the PAM phrase into the `postgresql` log (a logged statement), and any
client chooses the user name of an `iam-db-auth-error` line. Measured: the path of
`failures … clients` (parse both logs a page at a time, then match) for --statements crafted
statements next to as many real failures and their PAM lines; and single crafted lines of each
parser up to and past their caps. Goal: every crafted line costs about what a real one does (before
the fix: 10,000 statements took 41 s, a 64 KB iam line 17 s).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.domain.correlate import correlate
from bot.domain.pam import MAX_LINE as PAM_MAX_LINE
from bot.domain.pam import PAM_PHRASE, PamLines, classify
from bot.domain.parse import MAX_LINE, parse_line
from bot.domain.summary import FailureSummary
from bot.sandbox.seed_aws import Failure, format_line
from bot.sandbox.seed_postgresql_log import Client, pam_lines

PAGE = 10_000
START = datetime(2025, 8, 11, 3, 36, tzinfo=UTC)
MESSAGE = f'{PAM_PHRASE} "'


def statement(length: int) -> str:
    half = length // 2
    return (
        f"{START:%Y-%m-%d %H:%M:%S} UTC:10.0.0.9(4000):mallory@app:[9]:LOG:  statement: SELECT '"
        f"{'@' * half}:[1]:FATAL: {MESSAGE}{'@' * half}x\"'"
    )


def clients_path(count: int) -> float:
    iam_page: list[str] = []
    pam_page: list[str] = []
    crafted = statement(PAM_MAX_LINE - 150)
    for i in range(count):
        moment = START + timedelta(milliseconds=3 * i)
        iam_page.append(format_line(Failure(moment, "app", "ExpiredToken")))
        pam_page.append(pam_lines(moment, "app", Client("10.0.1.67", 40000, "app", i))[1])
        pam_page.append(crafted)
    started = time.perf_counter()
    summary = FailureSummary(events=[])
    for offset in range(0, len(iam_page), PAGE):
        summary.add_lines(iam_page[offset : offset + PAGE])
    found = PamLines()
    for offset in range(0, len(pam_page), PAGE):
        found.add_lines(pam_page[offset : offset + PAGE])
    assert summary.events is not None
    matched = correlate(summary.events, found.failures).matched
    seconds = time.perf_counter() - started
    print(
        f"  {count:,} failures + {count:,} crafted statements: {seconds:.3f} s, {matched:,} matched"
    )
    return seconds


def per_line(parse: Callable[[str], object], line: str) -> float:
    calls, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < 0.2:
        parse(line)
        calls += 1
    return elapsed / calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--statements", type=int, default=10_000)
    args = parser.parse_args()
    print("failures … clients path:")
    clients_path(args.statements)
    iam_head = "2025-08-11T04:00:05,804 [ERROR] a"
    iam_suffix = " (Status Code: 400, Error Code: X)"
    real = format_line(Failure(START, "app", "ExpiredToken"))
    print("single lines (µs per line):")
    print(f"  iam, real:                  {per_line(parse_line, real) * 1e6:9.1f}")
    for size in (MAX_LINE // 2, MAX_LINE, 64 * 1024):
        spaces = iam_head + " " * size + "x"
        users = iam_head + "for user 'x" * (size // 11) + iam_suffix
        print(f"  iam, {size:>6} spaces:       {per_line(parse_line, spaces) * 1e6:9.1f}")
        print(f"  iam, {size:>6} of for user': {per_line(parse_line, users) * 1e6:9.1f}")
    real_pam = pam_lines(START, "app", Client("10.0.1.67", 40000, "app", 1))[1]
    print(f"  pam, real:                  {per_line(classify, real_pam) * 1e6:9.1f}")
    for size in (PAM_MAX_LINE // 2, PAM_MAX_LINE - 150, 64 * 1024):
        print(f"  pam, {size:>6} statement:    {per_line(classify, statement(size)) * 1e6:9.1f}")


if __name__ == "__main__":
    main()
