"""Benchmark (b): AWS API calls per digest tick for N watched clusters, counted at the HTTP level,
on data that fires.

    python -m benchmarks.digest_calls [--sizes 1 10 100 1000] [--ticks 3]

moto's server and a counting proxy run in a child process (so this process's CPU time is the
bot's); N config watches (the default thresholds: InvalidToken >= 5 in 5m, InsufficientPermissions
>= 1 in 15m), each to its own channel, are evaluated by one real digest tick (bot/services/alerting)
against one place. ceil(N/20) of the clusters (5 %) breach both thresholds, with their failures in
the `iam-db-auth-error` log (so each digest reads its log detail); as many again have failures just
under the thresholds and must not fire; the rest have no data. Every tick starts from a fresh store,
so every breach is news. The benchmark fails (exit 1) unless every tick makes exactly
ceil(3*N/500) + ceil(2*F/500) GetMetricData calls (the 3 metrics the thresholds evaluate — their
2 families and the requests — over their lookback for all N, then the chart's hour of the 2
families for the F that fire) and fires, and writes a digest for, exactly the breaching clusters.
(Before the tick read only what it evaluates: ceil(7*N/500) calls of 75 minutes of all 7.)
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from benchmarks.aws_proxy import RemoteCounts, aws_in_child
from bot.adapters.aws.clients import AwsClients, AwsSettings
from bot.adapters.store.db import make_engine, migrate
from bot.adapters.store.repo import Store
from bot.bootstrap import digest_pipeline
from bot.domain.address import Address
from bot.domain.alerts import NoticeKind
from bot.domain.metrics import METRICS_DELAY
from bot.domain.watches import DEFAULT_THRESHOLDS, make_watch
from bot.sandbox.aws_emulator import REGION, reset
from bot.sandbox.seed_aws import Failure, create_cluster, put_failures, put_metrics

FIRING_SHARE = 20  # one cluster in 20 breaches


def name_of(i: int) -> str:
    return f"db-{i:05d}"


def seed(endpoint: str, n: int, end: datetime) -> tuple[set[str], set[str]]:
    """The clusters that breach and those just under the thresholds, written into the emulator:
    metrics (one 5-minute point per metric, ending at `end`) and, for the breaching, the log."""
    aws = AwsClients(AwsSettings(region=REGION, endpoint_url=endpoint))
    breaching = {name_of(i) for i in range(0, n, FIRING_SHARE)}
    under = {name_of(i) for i in range(FIRING_SHARE // 2, n, FIRING_SHARE)}
    start = end - timedelta(minutes=5)
    for name in sorted(breaching | under):
        at = [start + timedelta(seconds=20 + 25 * k) for k in range(10)]
        if name in breaching:  # 8 >= 5 InvalidToken in 5m, 2 >= 1 NotAuthorized in 15m
            failures = [Failure(t, "app_user", "InvalidToken") for t in at[:8]]
            failures += [Failure(t, "report_job", "NotAuthorized") for t in at[8:]]
            create_cluster(aws.rds(), name, iam=True, exports=["iam-db-auth-error"], instances=0)
            put_failures(aws.logs(), name, failures, streams=1)
        else:  # 4 < 5 InvalidToken, no permission failures
            failures = [Failure(t, "app_user", "InvalidToken") for t in at[:4]]
        put_metrics(aws.cloudwatch(), name, failures, 20, start, end, step_minutes=5)
    return breaching, under


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}/{statistics.median(values):.2f}/{max(values):.2f}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100, 1000])
    parser.add_argument("--ticks", type=int, default=3, help="timed ticks per size (fresh store)")
    args = parser.parse_args()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    end = now - METRICS_DELAY  # the window a tick at `now` evaluates ends here
    wrong: list[str] = []
    print(
        f"{'N':>5} {'fire':>4} {'goal':>4} {'GetMetricData':>13} {'digests':>7} "
        f"{'AWS calls by API (per tick)':<52} {'wall s min/med/max':>18} {'CPU s min/med/max':>17}"
    )
    with aws_in_child() as (endpoint, proxy_url), tempfile.TemporaryDirectory() as tmp:
        counts = RemoteCounts(proxy_url)
        # The process's clients, built once as bootstrap does, and before any timing.
        aws = AwsClients(AwsSettings(region=REGION, endpoint_url=proxy_url))
        aws.cloudwatch(), aws.rds(), aws.logs()
        for n in args.sizes:
            reset(endpoint)
            breaching, under = seed(endpoint, n, end)
            watches = [
                make_watch(
                    Address(name_of(i)),
                    f"C0ALERT{i:05d}",
                    list(DEFAULT_THRESHOLDS),
                    source="config",
                )
                for i in range(n)
            ]
            goal = math.ceil(3 * n / 500) + math.ceil(2 * len(breaching) / 500)
            walls: list[float] = []
            cpus: list[float] = []
            per_tick: list[Counter[str]] = []
            digests: list[int] = []
            for t in range(args.ticks):
                engine = make_engine(f"sqlite:///{tmp}/bench-{n}-{t}.db")
                migrate(engine)
                runner = digest_pipeline(aws, Store(engine), watches, clock=lambda: now)
                counts.reset()
                wall, cpu = time.perf_counter(), time.process_time()
                result = runner.tick(now)
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
                calls = counts.reset()
                per_tick.append(calls)
                digests.append(len(result.outbox_ids))
                fired = {
                    w.cluster.cluster for w, x in result.notices if x.kind is NoticeKind.FIRING
                }
                engine.dispose()
                if calls["GetMetricData"] != goal:
                    wrong.append(
                        f"N={n} tick {t}: {calls['GetMetricData']} GetMetricData, not {goal}"
                    )
                if fired != breaching:
                    wrong.append(
                        f"N={n} tick {t}: fired {len(fired)} (missed {len(breaching - fired)}, "
                        f"{len(fired & under)} under the threshold, {len(fired - breaching)} wrong)"
                    )
                if len(result.outbox_ids) != len(breaching):
                    wrong.append(f"N={n} tick {t}: {len(result.outbox_ids)} digests written")
            calls_text = ", ".join(f"{k} {v}" for k, v in sorted(per_tick[0].items()))
            if any(c != per_tick[0] for c in per_tick):
                calls_text += " (varied)"
            print(
                f"{n:>5} {len(breaching):>4} {goal:>4} {per_tick[0]['GetMetricData']:>13} "
                f"{statistics.median(digests):>7.0f} {calls_text:<52} {spread(walls):>18} "
                f"{spread(cpus):>17}",
                flush=True,
            )
    for line in wrong:
        print("WRONG:", line)
    print("every tick: exact GetMetricData calls, the right clusters fired" if not wrong else "")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
