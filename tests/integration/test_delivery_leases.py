"""Leadership by lease, fenced: a scheduler that lost the lead writes and posts nothing more.

The store's lease and claims on SQLite and PostgreSQL, then two real `iamauth clock` processes on
PostgreSQL: the leader's connections terminated in the middle of a delivery, the leader frozen
(SIGSTOP) and resumed (SIGCONT)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bot.adapters.aws.clients import AwsClients
from bot.adapters.slack.outbox_delivery import CLAIM_TTL
from bot.adapters.store.db import make_engine, migrate
from bot.adapters.store.fence import LeaseLost
from bot.adapters.store.leader import Lease
from bot.adapters.store.repo import Digest, Store
from bot.domain.address import parse_address
from bot.domain.alerts import AlertState, Status
from bot.domain.records import Family
from bot.domain.watches import make_watch, parse_threshold_spec
from bot.sandbox.slack_standin import SlackStandIn
from bot.services.health import DIGEST_BEAT
from tests.integration.digest_helpers import INVALID, put_per_minute
from tests.integration.test_store_and_leader import (
    PG_URL,
    T0,
    clock_env,
    reset_postgres,
    wait_until,
)

LEASE_SECONDS = 3


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    engine = (
        make_engine(f"sqlite:///{tmp_path}/store.db")
        if request.param == "sqlite"
        else reset_postgres()
    )
    migrate(engine)
    yield Store(engine)
    engine.dispose()


def test_a_lease_taken_over_fences_off_its_old_holder(store: Store) -> None:
    clock = Clock(T0)
    old, new = (Lease(store, ttl=timedelta(minutes=1), clock=clock) for _ in "ab")
    old_fence = old.acquire()
    assert old_fence is not None
    assert new.acquire() is None  # held, and renewed by each fenced write
    (row_id,) = store.commit_tick({}, [Digest("C1", "t", [])], T0, fence=old_fence)

    clock.now = T0 + timedelta(minutes=1)  # the old holder made no progress for a whole lease
    new_fence = new.acquire()
    assert new_fence is not None
    assert new_fence.epoch == old_fence.epoch + 1

    # The old holder, resuming mid-tick, writes nothing: no state, no second digest.
    state = {("prod-db", Family.INVALID_TOKEN): AlertState(Status.FIRING, T0, T0, 9, 9)}
    with pytest.raises(LeaseLost):
        store.commit_tick(state, [Digest("C1", "again", [])], clock.now, fence=old_fence)
    assert store.alert_states() == {}
    assert [item.id for item in store.pending()] == [row_id]
    # ...and claims nothing to post; the new holder does.
    with pytest.raises(LeaseLost):
        store.claim(row_id, clock.now, clock.now + CLAIM_TTL, old_fence)
    assert store.claim(row_id, clock.now, clock.now + CLAIM_TTL, new_fence) is not None
    assert old.acquire() is None


def test_a_row_in_flight_waits_for_its_claim_and_is_then_searched_for(store: Store) -> None:
    clock = Clock(T0)
    first, second = (Lease(store, ttl=timedelta(seconds=10), clock=clock) for _ in "ab")
    first_fence = first.acquire()
    assert first_fence is not None
    (row_id,) = store.commit_tick({}, [Digest("C1", "t", [])], T0, fence=first_fence)
    in_flight = store.claim(row_id, T0, T0 + CLAIM_TTL, first_fence)
    assert in_flight is not None
    assert (in_flight.attempts, in_flight.unsure_since) == (1, None)

    clock.now = T0 + timedelta(seconds=11)  # the first holder froze mid-post
    second_fence = second.acquire()
    assert second_fence is not None
    # Its post may still be on the way: nobody touches the row while the claim runs.
    assert store.claim(row_id, clock.now, clock.now + CLAIM_TTL, second_fence) is None
    clock.now = T0 + CLAIM_TTL
    taken = store.claim(row_id, clock.now, clock.now + CLAIM_TTL, second_fence)
    assert taken is not None
    # The abandoned attempt may have posted: the history is searched from its start.
    assert (taken.attempts, taken.unsure_since) == (2, T0)
    # The first holder's late news of its attempt changes nothing of the second's.
    store.retry_later(in_flight, "timeout", clock.now, maybe_posted=True)
    (row,) = store.outbox()
    assert (row.claim_epoch, row.claimed_at, row.last_error) == (
        second_fence.epoch,
        clock.now,
        None,
    )


# Two clock processes on PostgreSQL ------------------------------------------------------------
def write_watches(tmp_path: Path, channels: list[str]) -> Path:
    config = tmp_path / "iamauth.toml"
    config.write_text(
        '[scheduler]\ninterval_seconds = 1\nmetrics_delay = "1m"\n'
        + "".join(
            f'\n[[watch]]\ncluster = "prod-db"\nchannel = "{c}"\n'
            'invalid_token = { count = 5, window = "5m" }\n'
            for c in channels
        )
    )
    return config


def start_clocks(
    moto_endpoint: str,
    slack: SlackStandIn,
    tmp_path: Path,
    channels: list[str],
    lease_seconds: int = LEASE_SECONDS,
) -> dict[int, tuple[subprocess.Popen[bytes], str, Path]]:
    """Two `iamauth clock` processes, each with its own application_name: pid → (process, name,
    log file)."""
    env = clock_env(moto_endpoint, slack, PG_URL, write_watches(tmp_path, channels))
    env["IAMAUTH_LEASE_SECONDS"] = str(lease_seconds)
    clocks = {}
    for name in ("iamauth-a", "iamauth-b"):
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}application_name={name}"
        log = tmp_path / f"{name}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "clock"],
            env={**env, "DATABASE_URL": url},
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
        )
        clocks[process.pid] = (process, name, log)
    return clocks


def stop_clocks(clocks: dict[int, tuple[subprocess.Popen[bytes], str, Path]]) -> None:
    for process, _, _ in clocks.values():
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def leader_pid(engine: Engine) -> int | None:
    """The pid in the lease holder's name (`host pid 1234 …`), while a process holds it."""
    with engine.connect() as connection:
        holder = connection.execute(text("SELECT holder FROM leases")).scalar()
    return int(holder.split(" pid ")[1].split()[0]) if holder else None


def claimed_rows(engine: Engine) -> int:
    with engine.connect() as connection:
        count = connection.execute(
            text("SELECT count(*) FROM outbox WHERE claimed_at IS NOT NULL")
        ).scalar()
    return int(count or 0)


def beats_after(store: Store, moment: datetime) -> bool:
    beat = store.last_beat(DIGEST_BEAT)
    return beat is not None and beat[0] > moment


def test_the_leaders_connections_terminated_mid_delivery_post_each_digest_once(
    aws: AwsClients, moto_endpoint: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    engine = reset_postgres()
    migrate(engine)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    put_per_minute(aws, "prod-db", INVALID, now, {m: 9.0 for m in range(-20, 30)})
    channels = [f"C0ALERTS{i:02d}" for i in range(1, 9)]
    slack.slow(0.5)  # each post takes half a second: the delivery is under way for a while
    clocks = start_clocks(moto_endpoint, slack, tmp_path, channels)
    try:
        wait_until(lambda: claimed_rows(engine) > 0, timeout=60)
        pid = leader_pid(engine)
        assert pid in clocks
        terminated = 0
        # Again and again until every digest is out: mid-claim, mid-post, mid-mark.
        while not all(slack.channel_messages(c) for c in channels):
            with engine.connect() as connection:
                terminated += len(
                    connection.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE application_name = :name"
                        ),
                        {"name": clocks[pid][1]},
                    ).all()
                )
            time.sleep(0.1)
        assert terminated > 0
        store = Store(engine)
        wait_until(lambda: all(r.status == "sent" for r in store.outbox()), timeout=60)
        done = datetime.now(UTC)
        wait_until(lambda: beats_after(store, done + timedelta(seconds=2)), timeout=60)
        assert [len(slack.channel_messages(c)) for c in channels] == [1] * len(channels)
    finally:
        stop_clocks(clocks)
        engine.dispose()


def test_a_frozen_leader_is_replaced_and_posts_nothing_when_it_resumes(
    aws: AwsClients, moto_endpoint: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    engine = reset_postgres()
    migrate(engine)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    for cluster in ("prod-db", "orders-db"):
        put_per_minute(aws, cluster, INVALID, now, {m: 9.0 for m in range(-20, 30)})
    channels = [f"C0ALERTS{i:02d}" for i in range(1, 5)]
    slack.slow(2.0)  # the posts are on their way when the leader freezes
    clocks = start_clocks(moto_endpoint, slack, tmp_path, channels)
    try:
        wait_until(lambda: claimed_rows(engine) == len(channels), timeout=60)
        pid = leader_pid(engine)
        assert pid in clocks
        leader, _, leader_log = clocks[pid]
        leader.send_signal(signal.SIGSTOP)
        frozen_at = time.monotonic()
        # A new digest only a live leader can post: the standby takes over within the lease
        # (3 s here) and a tick or two.
        store = Store(engine)
        rule = parse_threshold_spec("invalid_token>=5/5m")
        store.save_watch(make_watch(parse_address("orders-db"), "C0ALERTS99", [rule]), now)
        wait_until(lambda: slack.channel_messages("C0ALERTS99"), timeout=LEASE_SECONDS + 12)
        assert leader_pid(engine) != pid
        # The frozen leader's posts reached Slack; once their claims lapse the standby finds
        # them in the history instead of posting them again.
        wait_until(lambda: all(r.status == "sent" for r in store.outbox()), timeout=60)
        assert time.monotonic() - frozen_at >= CLAIM_TTL.total_seconds() - 1

        leader.send_signal(signal.SIGCONT)
        wait_until(lambda: "leads no more" in leader_log.read_text(), timeout=30)
        resumed = datetime.now(UTC)
        wait_until(lambda: beats_after(store, resumed + timedelta(seconds=2)), timeout=30)
        assert [len(slack.channel_messages(c)) for c in [*channels, "C0ALERTS99"]] == [1] * 5
        assert leader.poll() is None  # it stands by, alive
    finally:
        stop_clocks(clocks)
        engine.dispose()


def test_a_stopped_leader_gives_the_lease_back_at_once(
    aws: AwsClients, moto_endpoint: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    engine = reset_postgres()
    migrate(engine)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    for cluster in ("prod-db", "orders-db"):
        put_per_minute(aws, cluster, INVALID, now, {m: 9.0 for m in range(-20, 30)})
    # A lease far longer than the wait below: only a lease given back explains a takeover.
    clocks = start_clocks(moto_endpoint, slack, tmp_path, ["C0ALERTS01"], lease_seconds=600)
    try:
        wait_until(lambda: slack.channel_messages("C0ALERTS01"), timeout=60)
        pid = leader_pid(engine)
        assert pid in clocks
        leader = clocks[pid][0]
        leader.send_signal(signal.SIGTERM)  # a deploy
        assert leader.wait(timeout=30) == 0
        rule = parse_threshold_spec("invalid_token>=5/5m")
        Store(engine).save_watch(make_watch(parse_address("orders-db"), "C0ALERTS99", [rule]), now)
        wait_until(lambda: slack.channel_messages("C0ALERTS99"), timeout=30)
        assert leader_pid(engine) not in (None, pid)
        assert len(slack.channel_messages("C0ALERTS01")) == 1
    finally:
        stop_clocks(clocks)
        engine.dispose()
