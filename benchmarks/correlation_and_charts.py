"""Benchmark (e): what issue 7 added. Who failed from where, and charts.

    python -m benchmarks.correlation_and_charts [--failures 10000 100000] [--runs 5]

Who failed from where (`/iamauth failures <cluster> [window] clients`): N `iam-db-auth-error`
failures and their `FATAL: PAM authentication failed` lines from the `postgresql` log (the only
lines the bot's filter pattern lets through), formatted as RDS writes them, in two shapes:
"busy", one service failing ~1,000 times a second from three addresses, and "spread", 50 services
failing over an hour. Each PAM line is stamped in whole seconds within -0.8/+0.3 s of its failure
and ~4% of failures have none (as bot/sandbox/seed_postgresql_log.py seeds them), so close to 96%
must match: a case more than 2 points below the failures that have a line is printed as "not sane".
Both logs are read in pages of 10,000 lines, as FilterLogEvents returns them. Measured: the iam read
with and without keeping the events `clients` needs, parsing the PAM lines (`PamLines`), matching
(`correlate`), and the peak RSS growth of all that. Each case runs in a fresh process, so its peak
RSS is its own.

Charts (`/iamauth metrics` and the digest's thread): `draw_metrics_chart` for 1h, 24h and 7d of
realistic metrics and `draw_digest_chart` for a firing threshold, the median of --runs draws after
one warm-up, and the PNG size; and, in fresh processes, the cold `import bot.views.chart_drawing`
(matplotlib and numpy), its RSS, and the first draw after it. The issue set no goals for these.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from bot.domain.address import Address
from bot.domain.alerts import Threshold
from bot.domain.chart_spec import DigestChart, fetch_span
from bot.domain.chart_spec import digest_chart as digest_spec
from bot.domain.correlate import correlate
from bot.domain.metrics import FAMILY_METRICS, MetricsReport, Series, align_to_period, choose_period
from bot.domain.pam import PamLines
from bot.domain.records import Family
from bot.domain.summary import FailureSummary
from bot.sandbox.seed_aws import Failure, format_line
from bot.sandbox.seed_postgresql_log import Client, engine_time, pam_lines

ROOT = Path(__file__).resolve().parents[1]
PAGE = 10_000
START = datetime(2025, 8, 11, 3, 0, tzinfo=UTC)
END = datetime(2025, 8, 12, 3, 0, tzinfo=UTC)
WITHOUT_PAM_LINE = 0.04
CASES = ("busy", "spread")
COLD_RUNS = 3
# Failures a minute by family, outside the burst.
RATES = {
    Family.INVALID_TOKEN: 2.0,
    Family.INSUFFICIENT_PERMISSIONS: 1.0,
    Family.THROTTLING: 0.5,
    Family.SERVER_ERROR: 0.3,
}

# Run in a fresh interpreter (`-c`): the bot has its domain modules loaded before the first chart,
# so only bot.views.chart_drawing itself (matplotlib, numpy) is timed; then the first chart drawn
# after it.
COLD_CODE = """
import json, time
from benchmarks.correlation_and_charts import metrics_report, peak_rss_mb
from datetime import timedelta
report = metrics_report(timedelta(hours=24))
rss = peak_rss_mb()
t = time.perf_counter()
import bot.views.chart_drawing
imported = time.perf_counter() - t
grown = peak_rss_mb() - rss
t = time.perf_counter()
bot.views.chart_drawing.draw_metrics_chart(report)
print(json.dumps([imported, time.perf_counter() - t, grown]))
"""


def peak_rss_mb() -> float:
    """This process's peak RSS. Linux's ru_maxrss (getrusage) carries the parent's peak over into a
    child it starts (over fork and exec), which would hide a child's own growth; the kernel's
    VmHWM is the peak of this process's own memory."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def pages(lines: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(lines), PAGE):
        yield lines[start : start + PAGE]


# Who failed from where --------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    user: str
    addresses: tuple[str, ...]
    database: str
    codes: tuple[str, ...]


def services(case: str, rng: random.Random) -> list[Service]:
    if case == "busy":
        addresses = ("10.0.1.67", "10.0.1.68", "10.0.2.14")
        return [Service("app_user", addresses, "app", ("ExpiredToken",))]
    codes = ("InvalidToken", "ExpiredToken", "NotAuthorized", "ThrottlingException")
    return [
        Service(
            f"svc_{i:02d}",
            tuple(f"10.0.{i}.{rng.randint(2, 250)}" for _ in range(rng.randint(1, 3))),
            f"db_{i:02d}",
            tuple(rng.sample(codes, rng.randint(1, 2))),
        )
        for i in range(50)
    ]


def failure_times(case: str, count: int, rng: random.Random) -> Iterator[datetime]:
    """Oldest first: ~1,000 a second for "busy", uniformly over an hour for "spread"."""
    if case == "busy":
        ms = 0
        for _ in range(count):
            ms += rng.randint(0, 2)
            yield START + timedelta(milliseconds=ms)
    else:
        for ms in sorted(rng.randrange(3_600_000) for _ in range(count)):
            yield START + timedelta(milliseconds=ms)


def write_logs(case: str, count: int) -> tuple[list[str], list[str]]:
    """The iam lines and the PAM lines (time order) for `count` failures, straight to text so that
    nothing larger than the two lists is ever held."""
    rng = random.Random(7)
    users = services(case, rng)
    iam: list[str] = []
    pam: list[str] = []
    pid = 20_000
    for moment in failure_times(case, count, rng):
        service = rng.choice(users)
        iam.append(format_line(Failure(moment, service.user, rng.choice(service.codes))))
        if rng.random() < WITHOUT_PAM_LINE:
            continue
        pid += rng.randint(1, 40)
        client = Client(
            rng.choice(service.addresses), rng.randint(32768, 60999), service.database, pid
        )
        stamped = engine_time(moment + timedelta(seconds=rng.uniform(-0.8, 0.3)))
        pam.append(pam_lines(stamped, service.user, client)[1])  # the FATAL line
    pam.sort()  # lines start with their whole-second stamp: text order is time order
    return iam, pam


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def feed(add_lines: Callable[[Sequence[str]], None], lines: Sequence[str]) -> float:
    """Seconds to feed `lines` page by page, as the bot reads a log."""
    started = time.perf_counter()
    for page in pages(lines):
        add_lines(page)
    return time.perf_counter() - started


def correlation_case(case: str, count: int) -> dict[str, Any]:
    iam_lines, pam_text = write_logs(case, count)
    gc.collect()
    before = peak_rss_mb()

    plain_s = feed(FailureSummary().add_lines, iam_lines)
    summary = FailureSummary(events=[])
    events_s = feed(summary.add_lines, iam_lines)
    lines = PamLines()
    parse_s = feed(lines.add_lines, pam_text)
    events = summary.events or []
    started = time.perf_counter()
    result = correlate(
        events, lines.failures, counted_from_ms=events[0].ms, counted_to_ms=events[-1].ms + 1
    )
    match_s = time.perf_counter() - started
    return {
        "case": case,
        "failures": len(events),
        "pam": len(lines.failures),
        "unreadable": lines.unreadable,
        "iam_plain_s": plain_s,
        "iam_events_s": events_s,
        "parse_s": parse_s,
        "match_s": match_s,
        "matched": result.matched / max(result.iam_total, 1),
        "groups": len(result.groups),
        "rss_mb": peak_rss_mb() - before,
    }


HEADER = (
    ("case", 7), ("failures", 9), ("PAM lines", 9), ("have one", 8), ("events +s", 9),
    ("parse s", 8), ("lines/s", 9), ("match s", 8), ("matched", 8), ("added s", 8), ("RSS +MB", 8),
)  # fmt: skip


def row(r: dict[str, Any]) -> list[str]:
    events_s = r["iam_events_s"] - r["iam_plain_s"]
    return [
        r["case"],
        f"{r['failures']:,}",
        f"{r['pam']:,}",
        f"{r['pam'] / r['failures']:.2%}",
        f"{events_s:.3f}",
        f"{r['parse_s']:.3f}",
        f"{r['pam'] / r['parse_s']:,.0f}",
        f"{r['match_s']:.3f}",
        f"{r['matched']:.2%}",
        f"{events_s + r['parse_s'] + r['match_s']:.2f}",
        f"{r['rss_mb']:.1f}",
    ]


def run_correlation(counts: Sequence[int]) -> None:
    print("Who failed from where: iam read with events, PAM parse, matching (fresh process each)")
    print(" ".join(f"{name:>{width}}" for name, width in HEADER))
    for count in counts:
        for case in CASES:
            # Our own interpreter running this module with fixed arguments.
            done = subprocess.run(  # noqa: S603
                [sys.executable, "-m", "benchmarks.correlation_and_charts",
                 "--case", case, "--failures", str(count)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            r = json.loads(done.stdout)
            print(" ".join(f"{c:>{w}}" for c, (_, w) in zip(row(r), HEADER, strict=True)))
            # Sane: every line read, and nearly every failure that has a PAM line matched to one.
            with_line = r["pam"] / r["failures"]
            if r["unreadable"] or not with_line - 0.02 <= r["matched"] <= with_line:
                print(f"  not sane: {r}")
    print(
        "have one: failures with a PAM line; events +s: the iam read keeping events minus the\n"
        "same read without; added s: events + parse + match; RSS +MB: peak growth over the input"
    )


# Charts -------------------------------------------------------------------------------------------


def metrics_report(window: timedelta) -> MetricsReport:
    """A cluster's metrics as CloudWatch returns them: daily traffic, a steady trickle of
    failures, an ExpiredToken burst 20 minutes before the end, and a few missing points."""
    rng = random.Random(5)
    period = choose_period(window)
    start, end = align_to_period(END - window, END, period)
    slots = int((end - start).total_seconds() // period)
    times = tuple(
        start + timedelta(seconds=period * i) for i in range(slots) if rng.random() > 0.03
    )
    minutes = period / 60
    burst = END - timedelta(minutes=20)
    successes: list[float] = []
    failures: dict[str, list[float]] = {metric: [] for metric in FAMILY_METRICS.values()}
    for moment in times:
        hour = moment.hour + moment.minute / 60
        successes.append(float(round(minutes * 400 * (1.3 + math.sin(hour / 24 * 2 * math.pi)))))
        in_burst = burst <= moment < burst + timedelta(minutes=10)
        for family, metric in FAMILY_METRICS.items():
            rate = 120.0 if in_burst and family is Family.INVALID_TOKEN else RATES[family]
            failures[metric].append(float(round(rng.uniform(0, 2 * rate) * minutes)))
    series = {metric: Series(times, tuple(values)) for metric, values in failures.items()}
    failed = tuple(sum(column) for column in zip(*failures.values(), strict=True))
    series["IamDbAuthConnectionSuccess"] = Series(times, tuple(successes))
    series["IamDbAuthConnectionFailure"] = Series(times, failed)
    series["IamDbAuthConnectionRequests"] = Series(
        times, tuple(s + f for s, f in zip(successes, failed, strict=True))
    )
    return MetricsReport("prod-db", start, end, period, "DBClusterIdentifier", (), series)


def firing_digest() -> DigestChart:
    """The spec a tick stores for a firing `InvalidToken ≥ 10 in 5m`, from per-minute points."""
    threshold = Threshold(Family.INVALID_TOKEN, 10, timedelta(minutes=5))
    rng = random.Random(3)
    minutes = int(fetch_span([threshold]) / timedelta(minutes=1))
    times = tuple(END - timedelta(minutes=m) for m in range(minutes, 0, -1))
    values = tuple(
        float(rng.randint(0, 2) if m > 15 else rng.randint(3, 9)) for m in range(minutes, 0, -1)
    )
    return digest_spec(Address("prod-db"), threshold, Series(times, values), END)


def draw_times(draw: Callable[[], bytes], runs: int) -> tuple[float, int]:
    """Median seconds of `runs` draws after one warm-up, and the PNG's size."""
    png = draw()
    seconds = [timed(draw) for _ in range(runs)]
    return statistics.median(seconds), len(png)


def run_charts(runs: int) -> None:
    from bot.views.chart_drawing import (  # imported here: cold import timed apart
        draw_digest_chart,
        draw_metrics_chart,
    )

    print(f"\nCharts: median of {runs} draws after one warm-up")
    print(f"{'chart':>22} {'points':>7} {'ms':>7} {'PNG KiB':>8}")
    for label, window in (("1h", timedelta(hours=1)), ("24h", timedelta(hours=24)),
                          ("7d", timedelta(days=7))):  # fmt: skip
        report = metrics_report(window)
        seconds, size = draw_times(partial(draw_metrics_chart, report), runs)
        points = len(report.series["IamDbAuthConnectionRequests"].values)
        print(f"{'metrics ' + label:>22} {points:>7} {seconds * 1000:>7.0f} {size / 1024:>8.0f}")
    spec = firing_digest()
    seconds, size = draw_times(partial(draw_digest_chart, spec), runs)
    label = "digest (InvalidToken)"
    print(f"{label:>22} {len(spec.counts):>7} {seconds * 1000:>7.0f} {size / 1024:>8.0f}")

    print(
        f"\nCold, in {COLD_RUNS} fresh processes: import bot.views.chart_drawing, then the first 24h chart"
    )
    cold = []
    for _ in range(COLD_RUNS):
        done = subprocess.run(  # noqa: S603 (our own interpreter, fixed code)
            [sys.executable, "-c", COLD_CODE], capture_output=True, text=True, check=True, cwd=ROOT
        )
        cold.append(json.loads(done.stdout))
    for imported, first, grown in cold:
        print(
            f"import {imported * 1000:5.0f} ms (RSS +{grown:.0f} MB), "
            f"first chart {first * 1000:4.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--failures", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=5, help="chart draws timed after a warm-up")
    parser.add_argument("--only", choices=("correlation", "charts"))
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)  # one case, as JSON
    args = parser.parse_args()
    if args.case:
        print(json.dumps(correlation_case(args.case, args.failures[0])))
        return
    if args.only != "charts":
        run_correlation(args.failures)
    if args.only != "correlation":
        run_charts(args.runs)


if __name__ == "__main__":
    main()
