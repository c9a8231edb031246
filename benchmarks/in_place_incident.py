"""Benchmark (h): an incident hour in one channel, alert messages edited in place versus one message
per notice.

    python -m benchmarks.in_place_incident [--clusters 30] [--minutes 120] [--runs 3]

N clusters watched for one channel (InvalidToken >= 10 in 5m, repeat 30m) start failing in three
waves, their counts moving every minute (seeded noise), escalate (the rate more than doubles) one
after another, and recover one after another. The real digest tick (moto's server for AWS, a
SQLite store) and the real outbox sender (HTTP to the Slack stand-in) run once a simulated minute
over the whole timeline, twice per run on the same data: as shipped (one message per alert
episode, edited in place, its news in its thread) and with in-place editing off (every notice a
message of its own: the design before it). Runs alternate the two, each on a fresh store and
stand-in. Reported per mode: messages the channel shows (conversations.history: thread replies
are not in it), thread replies, chat.postMessage and chat.update calls, and the tick and delivery
time per minute (min/median/max over runs of each run's median).

Exits 1 unless, in place, the channel shows exactly one message per announced group (the POST rows,
ceil(clusters starting together / 10)), every outbox row is sent, each reply is in its message's
thread, every message ends "resolved" without buttons, and the baseline shows one message per
notice group (so the comparison compares what it says).
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.adapters.aws.clients import AwsClients, AwsSettings
from bot.adapters.slack.outbox_delivery import Deliverer
from bot.adapters.slack.web_client import delivery_client
from bot.adapters.store.repo import Store
from bot.bootstrap import digest_pipeline
from bot.config import Settings
from bot.domain.address import Address
from bot.domain.metrics import NAMESPACE
from bot.domain.watches import make_watch, parse_threshold_spec
from bot.sandbox.aws_emulator import REGION, embedded_aws
from bot.sandbox.seed_aws import create_cluster
from bot.sandbox.slack_standin import SlackStandIn

CHANNEL = "C0INCIDENT"
INVALID = "IamDbAuthConnectionFailureInvalidToken"


def name_of(i: int) -> str:
    return f"db-{i:03d}"


def per_minute(i: int, minutes: int, noise: random.Random) -> dict[int, float]:
    """Cluster i's InvalidToken failures per minute of the timeline: from its wave's start 3 a
    minute (15 in 5 min, over the threshold of 10), from its escalation 8, from its recovery none;
    ±1 of noise a minute, so its count moves at most ticks."""
    start = 5 + 15 * (i % 3)  # three waves
    escalation = start + 20 + i % 17
    recovery = min(escalation + 15 + i % 11, minutes - 15)
    counts = {}
    for m in range(minutes):
        base = 0.0 if m < start or m >= recovery else (8.0 if m >= escalation else 3.0)
        counts[m] = max(0.0, base + noise.choice((-1.0, 0.0, 1.0))) if base else 0.0
    return counts


def seed(aws: AwsClients, clusters: int, minutes: int, start: datetime) -> None:
    noise = random.Random(7)  # the same data for every run and mode
    for i in range(clusters):
        # Aurora clusters without the log export: the digest says so, and reads no log.
        create_cluster(aws.rds(), name_of(i), iam=True, exports=[], instances=0)
        data: list[Any] = [
            {
                "MetricName": INVALID,
                "Dimensions": [{"Name": "DBClusterIdentifier", "Value": name_of(i)}],
                "Timestamp": start + timedelta(minutes=m),
                "Value": value,
            }
            for m, value in per_minute(i, minutes, noise).items()
        ]
        for offset in range(0, len(data), 500):
            aws.cloudwatch().put_metric_data(
                Namespace=NAMESPACE, MetricData=data[offset : offset + 500]
            )


@dataclass
class Run:
    tick_seconds: list[float] = field(default_factory=list)
    deliver_seconds: list[float] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    shown: int = 0  # messages the channel shows (not thread replies)
    replies: int = 0
    rows: Counter[str] = field(default_factory=Counter)  # outbox rows by kind
    problems: list[str] = field(default_factory=list)


def one_run(aws: AwsClients, clusters: int, minutes: int, start: datetime, in_place: bool) -> Run:
    run = Run()
    with SlackStandIn() as slack, tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{Path(tmp)}/iamauth.db")
        rule = parse_threshold_spec("invalid_token>=10/5m")
        watches = [
            make_watch(Address(name_of(i)), CHANNEL, [rule], repeat=timedelta(minutes=30))
            for i in range(clusters)
        ]
        now = start
        clock: Callable[[], datetime] = lambda: now  # noqa: E731 - the simulated minute
        pipeline = digest_pipeline(
            aws, store, watches, clock=clock, metrics_delay=timedelta(minutes=1), in_place=in_place
        )
        settings = Settings(slack_bot_token="xoxb-bench", slack_api_url=slack.api_url)  # noqa: S106
        deliverer = Deliverer(store, delivery_client(settings), clock)
        for m in range(minutes):
            now = start + timedelta(minutes=m)
            began = time.perf_counter()
            pipeline.tick(now)
            ticked = time.perf_counter()
            deliverer.deliver_pending()
            run.tick_seconds.append(ticked - began)
            run.deliver_seconds.append(time.perf_counter() - ticked)
        run.calls = Counter(r.method for r in slack.requests if r.path.startswith("/api/"))
        messages = slack.channel_messages(CHANNEL)
        tops = {m["ts"]: m for m in messages if m.get("thread_ts", m["ts"]) == m["ts"]}
        run.shown = len(tops)
        run.replies = len(messages) - len(tops)
        outbox = store.outbox()
        run.rows = Counter(r.kind for r in outbox)
        unsent = [r.id for r in outbox if r.status not in ("sent", "superseded")]
        if unsent:
            run.problems.append(f"outbox rows not sent: {unsent[:5]}")
        orphans = [m for m in messages if m.get("thread_ts") and m["thread_ts"] not in tops]
        if orphans:
            run.problems.append(f"{len(orphans)} replies outside any message's thread")
        if in_place:
            if run.shown != run.rows["post"]:
                run.problems.append(f"{run.shown} messages shown for {run.rows['post']} announced")
            live = [
                m["ts"]
                for m in tops.values()
                if not m["text"].startswith("IAM auth alerts resolved")
            ]
            if live:
                run.problems.append(f"{len(live)} messages do not end resolved")
            if any(b.get("type") == "actions" for m in tops.values() for b in m.get("blocks", [])):
                run.problems.append("a resolved message still has buttons")
        elif run.shown != len(outbox):
            run.problems.append(f"baseline: {run.shown} messages shown for {len(outbox)} notices")
        store.engine.dispose()
    return run


def spread(values: list[float], scale: float = 1000.0) -> str:
    return f"{min(values) * scale:.0f}/{statistics.median(values) * scale:.0f}/{max(values) * scale:.0f}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clusters", type=int, default=30)
    parser.add_argument("--minutes", type=int, default=120)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with embedded_aws() as endpoint:
        aws = AwsClients(AwsSettings(region=REGION, endpoint_url=endpoint))
        start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=args.minutes)
        seed(aws, args.clusters, args.minutes, start)
        runs: dict[bool, list[Run]] = {True: [], False: []}
        for n in range(args.runs):
            for in_place in (True, False) if n % 2 == 0 else (False, True):  # paired, alternated
                runs[in_place].append(one_run(aws, args.clusters, args.minutes, start, in_place))
    print(
        f"{args.clusters} clusters, one channel, {args.minutes} simulated minutes, {args.runs} runs"
    )
    print(
        f"{'mode':<22}{'shown':>6}{'replies':>8}{'posts':>7}{'updates':>8}{'calls':>7}"
        f"  {'tick ms min/med/max':>20}  {'deliver ms min/med/max':>23}"
    )
    failed = False
    for in_place, label in ((True, "in place (shipped)"), (False, "a message per notice")):
        for run in runs[in_place]:
            failed |= bool(run.problems)
            for problem in run.problems:
                print(f"  MISS ({label}): {problem}")
        last = runs[in_place][-1]
        ticks = [statistics.median(r.tick_seconds) for r in runs[in_place]]
        delivers = [statistics.median(r.deliver_seconds) for r in runs[in_place]]
        print(
            f"{label:<22}{last.shown:>6}{last.replies:>8}{last.calls['chat.postMessage']:>7}"
            f"{last.calls['chat.update']:>8}{sum(last.calls.values()):>7}"
            f"  {spread(ticks):>20}  {spread(delivers):>23}"
        )
        counts = {(r.shown, r.replies, tuple(sorted(r.calls.items()))) for r in runs[in_place]}
        if len(counts) != 1:
            print(f"  ({label}: the counts differed between runs: {sorted(counts)})")
    print("FAILED" if failed else "ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
