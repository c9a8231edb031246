"""Benchmark (c): parse + aggregate throughput and peak RSS growth for 1,000,000 log lines.

    python benchmarks/parse_throughput.py [--lines 1000000]

Lines are written to a temporary file first (realistic mix: five codes, 2,000 distinct users, a
few unreadable lines, timestamps one to a few ms apart), then streamed back in pages of 10,000 through the parser
and the bounded aggregation, the way the bot reads FilterLogEvents pages. Goal: >= 500,000 lines/s and
<= 100 MB RSS growth.
"""

from __future__ import annotations

import argparse
import itertools
import random
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain.summary import FailureSummary
from bot.sandbox.seed_aws import Failure, format_line

PAGE = 10_000
CODES = [
    "InvalidToken",
    "ExpiredToken",
    "NotAuthorized",
    "ThrottlingException",
    "InternalError",
    "NewCode",
]


def write_lines(path: Path, count: int, *, uniform: bool) -> None:
    """Skewed (the usual case: a few services fail over and over, Zipf-like over 2,000 users) or
    uniform over 2,000 users (the worst case: nearly every line of a page is different)."""
    rng = random.Random(1)
    moment = datetime(2025, 8, 11, tzinfo=UTC)
    users = [f"svc_{i:04d}" for i in range(2_000)]
    weights = [1.0 if uniform else 1.0 / (rank + 1) ** 1.2 for rank in range(len(users))]
    picks = rng.choices(users, weights, k=count)
    with path.open("w") as out:
        for i in range(count):
            moment += timedelta(milliseconds=rng.randint(1, 4))
            if i % 10_000 == 9_999:
                out.write("2025-08-11T04:00:05,804 [ERROR] truncated line\n")
                continue
            code = CODES[-1] if i % 1000 == 0 else rng.choice(CODES[:-1])
            failure = Failure(moment, picks[i], code)
            out.write(format_line(failure, compact_suffix=i % 7 == 0) + "\n")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    for uniform in (False, True):
        run(args.lines, uniform=uniform)


def run(count: int, *, uniform: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lines.log"
        write_lines(path, count, uniform=uniform)
        before = peak_rss_mb()
        summary = FailureSummary()
        started = time.perf_counter()
        with path.open() as lines:
            # In pages of up to 10,000 events, as FilterLogEvents returns them.
            while page := [line.rstrip("\n") for line in itertools.islice(lines, PAGE)]:
                summary.add_lines(page)
        seconds = time.perf_counter() - started
        growth = peak_rss_mb() - before
    rate = count / seconds
    print(f"{'uniform (worst case)' if uniform else 'skewed (usual)'} mix over 2,000 users")
    print(f"lines: {count:,}  parsed: {summary.total:,}  unparsed: {summary.unparsed:,}")
    print(f"time: {seconds:.2f} s  throughput: {rate:,.0f} lines/s  (goal >= 500,000)")
    print(f"peak RSS growth: {growth:.1f} MB  (goal <= 100 MB)")


if __name__ == "__main__":
    main()
