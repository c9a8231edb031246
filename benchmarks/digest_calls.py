"""Benchmark (b): AWS API calls per digest tick for N watched clusters, counted at the HTTP level.

    python benchmarks/digest_calls.py [--sizes 1 10 100 1000]

moto's server runs in this process behind a counting proxy; N config watches (InvalidToken >= 5
in 5m and InsufficientPermissions >= 1 in 15m) are evaluated by one real digest tick (bot/services/alerting).
Goal: ceil(7*N/500) GetMetricData calls, against the naive 7*N (one call per metric and cluster).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from datetime import UTC, datetime

from benchmarks.aws_proxy import CountingProxy
from bot.adapters.aws.clients import AwsClients, AwsSettings
from bot.adapters.store.db import make_engine, migrate
from bot.adapters.store.repo import Store
from bot.bootstrap import digest_pipeline
from bot.domain.address import Address
from bot.domain.watches import DEFAULT_THRESHOLDS, make_watch
from bot.sandbox.aws_emulator import REGION, embedded_aws


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100, 1000])
    args = parser.parse_args()
    print(
        f"{'N':>6} {'naive 7N':>9} {'goal':>5} {'GetMetricData':>14} {'all AWS calls':>14} {'tick s':>7}"
    )
    with embedded_aws() as endpoint, tempfile.TemporaryDirectory() as tmp:
        proxy = CountingProxy(endpoint)
        for n in args.sizes:
            engine = make_engine(f"sqlite:///{tmp}/bench-{n}.db")
            migrate(engine)
            watches = [
                make_watch(
                    Address(f"db-{i:04d}"), "C0ALERTS01", list(DEFAULT_THRESHOLDS), source="config"
                )
                for i in range(n)
            ]
            aws = AwsClients(AwsSettings(region=REGION, endpoint_url=proxy.url))
            runner = digest_pipeline(aws, Store(engine), watches, clock=lambda: datetime.now(UTC))
            proxy.reset()
            started = time.perf_counter()
            runner.tick()
            seconds = time.perf_counter() - started
            calls = dict(proxy.calls)
            print(
                f"{n:>6} {7 * n:>9} {math.ceil(7 * n / 500):>5} {calls.get('GetMetricData', 0):>14} "
                f"{sum(calls.values()):>14} {seconds:>7.2f}"
            )
        proxy.stop()


if __name__ == "__main__":
    main()
