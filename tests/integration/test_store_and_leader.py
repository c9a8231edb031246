"""The store on SQLite and on the local PostgreSQL; the leader lock; two real clock processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import StatementError

from bot.adapters.aws.clients import AwsClients
from bot.adapters.store.db import make_engine, migrate
from bot.adapters.store.leader import AlreadyRunning, Lease, claim_or_refuse, leader_lock_for
from bot.adapters.store.models import Base
from bot.adapters.store.repo import UPDATE, AlertMessage, Digest, Store
from bot.domain.address import Address, parse_address
from bot.domain.alerts import AlertState, Status
from bot.domain.records import Family
from bot.domain.watches import make_watch, parse_threshold_spec
from bot.sandbox.slack_standin import SlackStandIn
from tests.conftest import run_iamauth
from tests.integration.digest_helpers import INVALID, put_per_minute

PG_URL = os.environ.get("IAMAUTH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
T0 = datetime(2025, 8, 11, 4, 0, tzinfo=UTC)
PROD_DB = Address("prod-db")


def reset_postgres() -> Engine:
    """Every table the models define (so a new migration's table is never left behind), and
    Alembic's version table."""
    engine = make_engine(PG_URL)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        for table in [*tables, "alembic_version"]:
            connection.execute(text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    engine = (
        make_engine(f"sqlite:///{tmp_path}/store.db")
        if request.param == "sqlite"
        else reset_postgres()
    )
    migrate(engine)
    yield engine
    engine.dispose()


def test_migrations_match_the_models_and_run_twice(engine: Engine) -> None:
    migrate(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_watches_states_silences_outbox(engine: Engine) -> None:
    store = Store(engine)
    watch = make_watch(
        parse_address("prod-db"),
        "C0OPS00001",
        [parse_threshold_spec("invalid_token>=5/5m")],
        created_by="U1",
    )
    assert store.save_watch(watch, T0) is True
    assert store.save_watch(watch, T0) is False
    assert store.list_watches() == [watch]
    store.silence(PROD_DB, T0 + timedelta(hours=1), "deploy", "U1", T0)
    assert store.active_silences(T0)[PROD_DB].until == T0 + timedelta(hours=1)
    assert store.active_silences(T0 + timedelta(hours=1)) == {}
    state = AlertState(Status.FIRING, T0, T0, 7, 9)
    ids = store.commit_tick(
        {(watch.key, Family.INVALID_TOKEN): state}, [Digest("C0OPS00001", "t", [])], T0
    )
    assert store.alert_states() == {(watch.key, Family.INVALID_TOKEN): state}
    assert [p.id for p in store.pending()] == ids
    store.mark_attempt(ids[0])
    store.mark_sent(ids[0], "123.456", T0)
    assert store.pending() == []
    assert store.alert_states()[(watch.key, Family.INVALID_TOKEN)].since == T0  # tz-aware, UTC
    store.commit_tick({}, [], T0, stale_keys=[watch.key])
    assert store.alert_states() == {}
    assert store.delete_watches(PROD_DB, "C0OPS00001") == 1
    assert store.unsilence(PROD_DB) is True


def test_alert_messages_are_kept_while_named_and_forgotten_a_week_after(engine: Engine) -> None:
    store = Store(engine)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    quiet, named, owed = (AlertMessage(k, "C1", (), t0, t0) for k in ("quiet", "named", "owed"))
    firing = AlertState(Status.FIRING, t0, t0, 5, 5, message="named")
    store.commit_tick({("prod-db|C1", Family.INVALID_TOKEN): firing}, [], t0,
                      messages=[quiet, named, owed])  # fmt: skip
    store.commit_tick({}, [Digest("C1", "edit", [], None, UPDATE, "owed")], t0 + timedelta(days=6))
    assert set(store.alert_messages(["quiet", "named", "owed"])) == {"quiet", "named", "owed"}
    store.commit_tick({}, [], t0 + timedelta(days=8))
    assert set(store.alert_messages(["quiet", "named", "owed"])) == {"named", "owed"}


def test_a_failed_tick_writes_neither_states_nor_digests(engine: Engine) -> None:
    store = Store(engine)
    state = AlertState(Status.FIRING, T0, T0, 7, 9)
    unstorable = [{"not json": {1, 2}}]  # fails at flush, after the state row was added
    with pytest.raises((StatementError, TypeError), match="not JSON serializable"):
        store.commit_tick({("k", Family.INVALID_TOKEN): state}, [Digest("C1", "t", unstorable)], T0)
    assert store.alert_states() == {}
    assert store.pending() == []


def test_postgres_lease_has_one_holder_and_passes_on() -> None:
    engine = reset_postgres()
    migrate(engine)
    first, second = (Lease(Store(engine), ttl=timedelta(minutes=1), clock=lambda: T0) for _ in "ab")
    assert first.acquire() is not None
    assert first.acquire() is not None
    assert second.acquire() is None
    first.release()
    assert second.acquire() is not None
    second.release()
    engine.dispose()


def test_sqlite_refuses_a_second_scheduler(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/one.db")
    first, second = leader_lock_for(engine), leader_lock_for(engine)
    claim_or_refuse(first, engine)
    with pytest.raises(AlreadyRunning, match="SQLite allows one"):
        claim_or_refuse(second, engine)
    first.release()
    claim_or_refuse(second, engine)
    second.release()


def clock_env(
    moto_endpoint: str, slack: SlackStandIn, database_url: str, config: Path
) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": database_url,
        "IAMAUTH_CONFIG": str(config),
        "IAMAUTH_LOG_LEVEL": "INFO",
        "IAMAUTH_LEASE_SECONDS": "3",  # a standby takes over 3 s after the leader stops
    }


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "iamauth.toml"
    config.write_text(
        '[scheduler]\ninterval_seconds = 1\nmetrics_delay = "1m"\n\n'
        '[[watch]]\ncluster = "prod-db"\nchannel = "C0ALERTS01"\n'
        'invalid_token = { count = 5, window = "5m" }\n'
    )
    return config


def wait_until(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_two_clock_processes_on_postgres_post_each_digest_once(
    aws: AwsClients, moto_endpoint: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    reset_postgres().dispose()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    put_per_minute(aws, "prod-db", INVALID, now, {m: 4.0 for m in range(-20, 30)})
    env = clock_env(moto_endpoint, slack, PG_URL, write_config(tmp_path))
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "clock"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
        )
        for log in logs
    ]
    try:
        wait_until(lambda: len(slack.posted("C0ALERTS01")) >= 1)
        time.sleep(4)  # several more ticks of both processes
        assert len(slack.posted("C0ALERTS01")) == 1
        leaders = [i for i, log in enumerate(logs) if "now the leader" in log.read_text()]
        assert len(leaders) == 1
        leader, standby = leaders[0], 1 - leaders[0]
        processes[leader].send_signal(signal.SIGKILL)
        processes[leader].wait(timeout=10)
        # A new watch, stored in the database: only a live leader can post its digest.
        store = Store(make_engine(PG_URL))
        put_per_minute(aws, "orders-db", INVALID, now, {m: 9.0 for m in range(-20, 30)})
        store.save_watch(
            make_watch(
                parse_address("orders-db"),
                "C0ALERTS02",
                [parse_threshold_spec("invalid_token>=5/5m")],
            ),
            now,
        )
        wait_until(lambda: len(slack.posted("C0ALERTS02")) >= 1)
        time.sleep(3)
        assert len(slack.posted("C0ALERTS02")) == 1
        assert len(slack.posted("C0ALERTS01")) == 1  # the survivor knows it was already posted
        assert "now the leader" in logs[standby].read_text()
        assert all(row.status == "sent" for row in store.outbox())
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=10)


def test_clock_refuses_to_start_beside_another_on_sqlite(
    moto_endpoint: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    env = clock_env(
        moto_endpoint, slack, f"sqlite:///{tmp_path}/iamauth.db", write_config(tmp_path)
    )
    first = subprocess.Popen(
        [sys.executable, "-m", "bot", "clock"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(
            lambda: (
                (tmp_path / "iamauth.db.lock").exists()
                and (tmp_path / "iamauth.db.lock").read_text()
            )
        )
        second = run_iamauth(env, "clock", "--once")
        assert second.returncode == 2
        assert "Another iamauth scheduler already runs" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=10)


def test_clock_once_posts_what_is_due_and_exits(
    aws: AwsClients, moto_endpoint: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    put_per_minute(aws, "prod-db", INVALID, now, {m: 4.0 for m in range(-20, 5)})
    env = clock_env(
        moto_endpoint, slack, f"sqlite:///{tmp_path}/iamauth.db", write_config(tmp_path)
    )
    for _ in range(2):
        result = run_iamauth(env, "clock", "--once")
        assert result.returncode == 0, result.stderr
    assert len(slack.posted("C0ALERTS01")) == 1  # the second run remembers the first


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_processes_starting_together_migrate_once(dialect: str, tmp_path: Path) -> None:
    """Several gunicorn workers start at once and each migrates: none may fail."""
    url = f"sqlite:///{tmp_path}/together.db" if dialect == "sqlite" else PG_URL
    if dialect == "postgresql":
        reset_postgres().dispose()
    code = "import sys; from bot.adapters.store.db import make_engine, migrate; migrate(make_engine(sys.argv[1]))"
    processes = [
        subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=60)[1].decode() for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], errors
