"""Benchmark (c): parse + aggregate throughput and peak RSS growth for 1,000,000 log lines.

    python benchmarks/parse_throughput.py [--lines 1000000] [--runs 5] [--users 2000]

Two mixes of `iam-db-auth-error` lines (five codes and a rare unknown one, both suffix spacings,
a few unreadable lines, timestamps one to a few ms apart): the usual one, Zipf-like over 2,000
users (a few services fail over and over), and the worst case, uniform over 2,000 users, so that
nearly every line of a page differs and the log holds ~21,000 distinct rests after the timestamp
(more than the 20,000 the parsed-rest cache held before issue 14 part 7; `--users` makes it
bigger). Each mix is written to a file once; each run is a fresh process (every cache cold, as
for a process's first read) that reads the file into pages of 10,000 lines, as FilterLogEvents
returns them, and feeds them to a new `FailureSummary.add_lines`.

Reported per mix: min/median/max over the runs of lines/s by the process's CPU time (the machine
is shared: other processes' load slows the wall clock, not the work done) and by the wall clock,
with the load average; and the peak RSS growth of a run over a baseline taken after the input is
read into memory (the kernel's peak, VmHWM, reset then). Goal: a median of >= 500,000
lines/s of CPU time for both mixes and <= 100 MB RSS growth; it exits 1 when one is missed, or
when a run did not count every line (so it cannot pass by reading nothing).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain.summary import FailureSummary
from bot.sandbox.seed_aws import Failure, format_line

PAGE = 10_000
GOAL_LINES_PER_S = 500_000
GOAL_RSS_MB = 100.0
CODES = [
    "InvalidToken",
    "ExpiredToken",
    "NotAuthorized",
    "ThrottlingException",
    "InternalError",
    "NewCode",
]
UNREADABLE = "2025-08-11T04:00:05,804 [ERROR] truncated line"


def write_lines(path: Path, count: int, *, uniform: bool, users: int = 2_000) -> None:
    """Skewed (the usual case: a few services fail over and over, Zipf-like over the users) or
    uniform over the users (the worst case: nearly every line of a page is different)."""
    rng = random.Random(1)
    moment = datetime(2025, 8, 11, tzinfo=UTC)
    names = [f"svc_{i:04d}" for i in range(users)]
    weights = [1.0 if uniform else 1.0 / (rank + 1) ** 1.2 for rank in range(len(names))]
    picks = rng.choices(names, weights, k=count)
    with path.open("w") as out:
        for i in range(count):
            moment += timedelta(milliseconds=rng.randint(1, 4))
            if i % 10_000 == 9_999:
                out.write(UNREADABLE + "\n")
                continue
            code = CODES[-1] if i % 1000 == 0 else rng.choice(CODES[:-1])
            failure = Failure(moment, picks[i], code)
            out.write(format_line(failure, compact_suffix=i % 7 == 0) + "\n")


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak_rss() -> int:
    """Reset the kernel's peak RSS of this process to its current RSS; return that, in KiB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kb("VmRSS")


def peak_rss_kb() -> int:
    return _status_kb("VmHWM")


@dataclass
class Run:
    cpu_rate: float
    wall_rate: float
    rss_mb: float
    counted: int


def run_child(path: Path) -> None:
    """One run, in this (fresh) process: print its Run as JSON."""
    lines = path.read_text().splitlines()
    pages = [lines[at : at + PAGE] for at in range(0, len(lines), PAGE)]
    del lines
    gc.collect()
    baseline = reset_peak_rss()
    summary = FailureSummary()
    wall, cpu = time.perf_counter(), time.process_time()
    for page in pages:
        summary.add_lines(page)
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    growth = (peak_rss_kb() - baseline) / 1024
    count = sum(map(len, pages))
    counted = summary.total + summary.unparsed
    print(json.dumps(Run(count / cpu, count / wall, growth, counted).__dict__))


def run_once(path: Path) -> Run:
    child = [sys.executable, __file__, "--child", str(path)]
    out = subprocess.run(child, check=True, capture_output=True, text=True).stdout  # noqa: S603 - our own interpreter and script
    return Run(**json.loads(out))


def spread(values: list[float], fmt: str) -> str:
    return "/".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


def measure(name: str, count: int, runs: int, *, uniform: bool, users: int) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lines.log"
        write_lines(path, count, uniform=uniform, users=users)
        with path.open() as lines:
            distinct = len({line[24:] for line in lines})
        load_before = os.getloadavg()[0]
        results = [run_once(path) for _ in range(runs)]
        load_after = os.getloadavg()[0]
    cpu = [r.cpu_rate for r in results]
    rss = [r.rss_mb for r in results]
    counted_all = all(r.counted == count for r in results)
    met = counted_all and statistics.median(cpu) >= GOAL_LINES_PER_S and max(rss) <= GOAL_RSS_MB
    print(f"{name}: {count:,} lines over {users:,} users, {distinct:,} distinct after the stamp")
    print(f"  lines/s by CPU time min/median/max: {spread(cpu, ',.0f')}  (goal median >= 500,000)")
    print(
        f"  lines/s by wall clock min/median/max: {spread([r.wall_rate for r in results], ',.0f')}"
    )
    print(f"  peak RSS growth MB min/median/max: {spread(rss, '.1f')}  (goal <= 100)")
    print(f"  load average (1 min) before/after: {load_before:.2f}/{load_after:.2f}")
    if not counted_all:
        print(f"  NOT MEASURED: runs counted {[r.counted for r in results]} of {count:,} lines")
    print(f"  goal {'met' if met else 'MISSED'}")
    return met


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--users", type=int, default=2_000, help="users of the worst case")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child)
        return
    print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {args.runs} runs per mix")
    usual = measure("usual (skewed)", args.lines, args.runs, uniform=False, users=2_000)
    worst = measure("worst (uniform)", args.lines, args.runs, uniform=True, users=args.users)
    sys.exit(0 if usual and worst else 1)


if __name__ == "__main__":
    main()
