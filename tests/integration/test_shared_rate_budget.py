"""The account's log-read budget across real processes: several processes of one deployment on
PostgreSQL together stay within it, as AWS would count (at an HTTP proxy in front of the
emulator); on SQLite each process stays within it alone. A command whose log reads would wait
past its answer deadline answers with the metrics."""

from __future__ import annotations

import contextvars
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from benchmarks.call_times import TimedProxy, shortest_span
from bot.adapters.aws.clients import AwsClients, AwsSettings
from bot.adapters.aws.rate_budget import RateBudget, ReadRates
from bot.adapters.store.db import migrate
from bot.adapters.store.rate_slots import PostgresSlots
from bot.ops import answer_deadline
from bot.sandbox.aws_emulator import REGION
from bot.sandbox.seed_aws import create_cluster
from bot.services.queries import FailuresReport, QueryService
from tests.integration.digest_helpers import INVALID, put_per_minute
from tests.integration.test_store_and_leader import PG_URL, reset_postgres

CHILD = Path(__file__).with_name("budget_child.py")
RATE = 10  # FilterLogEvents per second for the whole deployment
PROCESSES, THREADS, CALLS = 3, 4, 6
# The rate is checked over two seconds' worth of calls, not one second: the proxy timing them runs
# on the same loaded machine, and a call it reads a few tenths of a second late lands in its
# successor's second. The budget spaces 2 × RATE calls about 2.3 s apart; SOONEST leaves that
# jitter room, while processes that each kept to RATE alone would make them in about 0.8 s.
SOONEST = 1.5


def run_processes(
    moto_endpoint: str, proxy: TimedProxy, database_url: str, tmp_path: Path, processes: int
) -> None:
    config = tmp_path / "iamauth.toml"
    config.write_text(f"[limits]\nlogs_rate = {RATE}\n")
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": proxy.url,
        "DATABASE_URL": database_url,
        "IAMAUTH_CONFIG": str(config),
    }
    children = [
        subprocess.Popen(
            [sys.executable, str(CHILD), f"/group/{n}", str(THREADS), str(CALLS)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    for child in children:  # every one has built its clients: go together
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    for child in children:
        assert child.wait(timeout=120) == 0


@pytest.fixture
def proxy(aws: AwsClients, moto_endpoint: str) -> Iterator[TimedProxy]:
    for n in range(PROCESSES):
        aws.logs().create_log_group(logGroupName=f"/group/{n}")
    timed = TimedProxy(moto_endpoint)
    yield timed
    timed.stop()


def test_processes_on_postgresql_share_one_budget(
    proxy: TimedProxy, moto_endpoint: str, tmp_path: Path
) -> None:
    engine = reset_postgres()
    migrate(engine)  # as the deployment's first process does (Store.open)
    engine.dispose()
    run_processes(moto_endpoint, proxy, PG_URL, tmp_path, PROCESSES)
    calls = proxy.of("FilterLogEvents")
    assert len(calls) == PROCESSES * THREADS * CALLS  # none refused: they had no deadline
    assert len({c.log_group for c in calls}) == PROCESSES
    # Without the shared budget each process would keep to RATE alone: about 3 × RATE together.
    assert (shortest_span(calls, 2 * RATE) or 0) >= SOONEST


def test_on_sqlite_each_process_keeps_to_the_budget_alone(
    proxy: TimedProxy, moto_endpoint: str, tmp_path: Path
) -> None:
    run_processes(moto_endpoint, proxy, f"sqlite:///{tmp_path}/iamauth.db", tmp_path, 2)
    calls = proxy.of("FilterLogEvents")
    assert len(calls) == 2 * THREADS * CALLS
    for group in ("/group/0", "/group/1"):
        own = [c for c in calls if c.log_group == group]
        assert (shortest_span(own, 2 * RATE) or 0) >= SOONEST


def test_log_reads_past_the_deadline_answer_with_the_metrics(moto_endpoint: str) -> None:
    engine = reset_postgres()
    migrate(engine)
    budget = RateBudget(PostgresSlots(engine), ReadRates(logs=1))
    aws = AwsClients(AwsSettings(region=REGION, endpoint_url=moto_endpoint, budget=budget))
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    create_cluster(aws.rds(), "busy-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    put_per_minute(aws, "busy-db", INVALID, now, {m: 2.0 for m in range(-30, 0)})
    aws.logs().create_log_group(logGroupName="/aws/rds/cluster/busy-db/iam-db-auth-error")
    # Other processes hold the account's FilterLogEvents slots for the next ten minutes.
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO rate_slots (name, next_free) "
                "VALUES (:name, clock_timestamp() + interval '10 minutes')"
            ),
            {"name": f"{aws.place()}/logs"},
        )

    def ask() -> FailuresReport:
        answer_deadline.answer_within(60)  # a command with a minute left to answer
        return QueryService(aws, cache_seconds=0).failures("busy-db", timedelta(hours=1))

    report = contextvars.copy_context().run(ask)
    assert report.log_budget_busy is not None
    assert report.log_budget_busy.wait_seconds > 9 * 60
    assert report.summary is None
    assert report.metrics.total(INVALID) == 60
    engine.dispose()
