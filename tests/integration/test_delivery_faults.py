"""Each digest reaches its channel once while Slack fails: outages, answers lost after a post,
429s on one channel. The scheduler's real job (lease, delivery client, outbox) ticks in process
under the test's clock and posts over HTTP to the Slack stand-in, which fails on cue."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from bot.adapters.aws.clients import AwsClients
from bot.adapters.store.leader import leader_lock_for
from bot.bootstrap import Runtime, digest_job
from bot.domain.address import parse_address
from bot.domain.watches import make_watch, parse_threshold_spec
from bot.sandbox.slack_standin import Recorded, SlackStandIn
from bot.scheduler import DigestJob
from tests.conftest import run_iamauth
from tests.integration.digest_helpers import INVALID, put_per_minute
from tests.integration.test_store_and_leader import clock_env, write_config

C1, C2 = "C0ALERTS01", "C0ALERTS02"


@pytest.fixture
def jobs(runtime: Runtime) -> Any:
    """Builds the clock process's job (as `iamauth clock` does) with the environment given."""
    made: list[DigestJob] = []

    def make(env: dict[str, str] | None = None) -> DigestJob:
        made.append(digest_job(runtime, leader_lock_for(runtime.store.engine), env or {}))
        return made[-1]

    yield make
    for job in made:
        job.release()


def firing(
    aws: AwsClients,
    runtime: Runtime,
    now: datetime,
    watches: dict[str, str],
    minutes: range = range(-20, 90),
) -> None:
    """Each cluster → channel watch, breaching InvalidToken in `minutes` (none after them)."""
    for cluster, channel in watches.items():
        per_minute = {m: 9.0 if m in minutes else 0.0 for m in range(-20, 90)}
        put_per_minute(aws, cluster, INVALID, now, per_minute)
        rule = parse_threshold_spec("invalid_token>=10/5m")
        runtime.store.save_watch(make_watch(parse_address(cluster), channel, [rule]), now)


def tick(job: DigestJob, clock: Callable[[], datetime], start: datetime, minute: int) -> None:
    clock.now = start + timedelta(minutes=minute)  # type: ignore[attr-defined]
    assert job() is True  # the leader ticked


def posts(slack: SlackStandIn) -> list[Recorded]:
    return [r for r in slack.requests if r.method == "chat.postMessage"]


def test_twelve_ticks_of_http_500_then_each_digest_once(
    aws: AwsClients, runtime: Runtime, jobs: Any, clock: Any, slack: SlackStandIn, now: datetime
) -> None:
    job = jobs()
    firing(aws, runtime, now, {"alpha-db": C1, "beta-db": C2})
    slack.fail()  # every Web API call answers 500 until healed
    for minute in range(12):
        tick(job, clock, now, minute)
    assert slack.channel_messages(C1) == slack.channel_messages(C2) == []
    rows = runtime.store.outbox()
    # Tried at every tick (the post, then the history read: the first 500 may have posted).
    assert [(r.status, r.attempts, r.last_error) for r in rows] == [
        ("pending", 12, "internal_error")
    ] * 2

    slack.heal()
    tick(job, clock, now, 12)  # the first tick after Slack recovers
    assert [len(slack.channel_messages(c)) for c in (C1, C2)] == [1, 1]
    assert [r.status for r in runtime.store.outbox()] == ["sent", "sent"]
    tick(job, clock, now, 13)
    assert [len(slack.channel_messages(c)) for c in (C1, C2)] == [1, 1]


def test_a_digest_still_undelivered_at_its_max_age_expires_logged_and_counted(
    aws: AwsClients,
    runtime: Runtime,
    jobs: Any,
    clock: Any,
    slack: SlackStandIn,
    now: datetime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    job = jobs({"IAMAUTH_OUTBOX_MAX_AGE": "1h"})
    firing(aws, runtime, now, {"prod-db": C1})
    slack.fail()
    expired_before = REGISTRY.get_sample_value("iamauth_digests_expired_total") or 0.0
    for minute in (0, 30, 60):
        tick(job, clock, now, minute)
    assert runtime.store.outbox()[0].status == "pending"  # 60 minutes old: not older than 1h yet
    with caplog.at_level(logging.ERROR, logger="bot.adapters.slack.outbox_delivery"):
        tick(job, clock, now, 61)
    (row,) = runtime.store.outbox()
    assert row.status == "expired"
    assert row.last_error == "expired after 1:01:00; last error: internal_error"
    assert REGISTRY.get_sample_value("iamauth_digests_expired_total") == expired_before + 1
    assert f"outbox {row.id} to {C1} expired undelivered after 1:01:00" in caplog.text
    slack.heal()
    tick(job, clock, now, 62)
    assert slack.channel_messages(C1) == []
    assert runtime.store.outbox()[0].status == "expired"


@pytest.mark.parametrize("fault", ["dropped connection", "500", "503"])
def test_a_post_whose_answer_is_lost_is_not_posted_again(
    aws: AwsClients,
    runtime: Runtime,
    jobs: Any,
    clock: Any,
    slack: SlackStandIn,
    now: datetime,
    fault: str,
) -> None:
    job = jobs()
    firing(aws, runtime, now, {"prod-db": C1})
    if fault == "dropped connection":
        slack.accept_then_drop()
    else:
        slack.accept_then_fail(status=int(fault))
    tick(job, clock, now, 0)
    # Slack posted it, the answer was lost, and nothing inside the call sent it again.
    assert len(slack.channel_messages(C1)) == 1
    (row,) = runtime.store.outbox()
    assert (row.status, row.unsure_since) == ("pending", now)
    tick(job, clock, now, 1)  # finds it in the channel's history instead of posting
    (message,) = slack.channel_messages(C1)
    (row,) = runtime.store.outbox()
    assert (row.status, row.ts) == ("sent", message["ts"])
    assert len(posts(slack)) == 1


def test_one_channels_retry_after_delays_no_other(
    aws: AwsClients, runtime: Runtime, jobs: Any, clock: Any, slack: SlackStandIn, now: datetime
) -> None:
    job = jobs()
    firing(aws, runtime, now, {"alpha-db": C1, "beta-db": C2})
    slack.rate_limit(C1, retry_after=2, calls=1)  # short: waited inside the call
    tick(job, clock, now, 0)
    assert [r.channel for r in runtime.store.outbox()] == [C1, C2]  # C1's row comes first
    answered = [(r.body["channel"], r.status) for r in posts(slack)]
    # C2 was posted while C1 waited out its Retry-After: it did not wait behind C1.
    assert sorted(answered) == [(C1, 200), (C1, 429), (C2, 200)]
    assert answered.index((C2, 200)) < answered.index((C1, 200))
    assert [len(slack.channel_messages(c)) for c in (C1, C2)] == [1, 1]


def test_a_long_retry_after_goes_back_to_the_outbox(
    aws: AwsClients, runtime: Runtime, jobs: Any, clock: Any, slack: SlackStandIn, now: datetime
) -> None:
    job = jobs()
    firing(aws, runtime, now, {"alpha-db": C1, "beta-db": C2})
    slack.rate_limit(C1, retry_after=20)
    tick(job, clock, now, 0)
    assert [len(slack.channel_messages(c)) for c in (C1, C2)] == [0, 1]
    c1_row = runtime.store.outbox()[0]
    # A 429 proves nothing was posted: no history search needed; tried again after Retry-After.
    assert (c1_row.status, c1_row.unsure_since) == ("pending", None)
    assert c1_row.retry_at == now + timedelta(seconds=20)
    assert [r.status for r in posts(slack) if r.body["channel"] == C1] == [429]
    slack.heal()
    tick(job, clock, now, 1)
    assert [len(slack.channel_messages(c)) for c in (C1, C2)] == [1, 1]
    assert not [r for r in slack.requests if r.method == "conversations.history"]


def test_a_connection_reset_on_one_channel_stops_no_other(
    aws: AwsClients, runtime: Runtime, jobs: Any, clock: Any, slack: SlackStandIn, now: datetime
) -> None:
    job = jobs()
    firing(aws, runtime, now, {"alpha-db": C1, "beta-db": C2})
    slack.fail(method="chat.postMessage", channel=C1, drop=True)  # unanswered, not posted
    tick(job, clock, now, 0)
    assert [len(slack.channel_messages(c)) for c in (C1, C2)] == [0, 1]
    slack.heal()
    tick(job, clock, now, 1)  # C1 may have been posted: searched for, not found, posted once
    assert [len(slack.channel_messages(c)) for c in (C1, C2)] == [1, 1]
    assert [r.status for r in runtime.store.outbox()] == ["sent", "sent"]


def test_a_channels_digests_stay_in_order_behind_one_that_waits(
    aws: AwsClients, runtime: Runtime, jobs: Any, clock: Any, slack: SlackStandIn, now: datetime
) -> None:
    job = jobs()
    firing(aws, runtime, now, {"prod-db": C1}, minutes=range(-20, 1))
    slack.rate_limit(C1, retry_after=3600)
    tick(job, clock, now, 0)
    tick(job, clock, now, 20)  # resolved: an edit and a reply for C1, behind the digest
    assert [r.status for r in runtime.store.outbox()] == ["pending"] * 3
    assert slack.channel_messages(C1) == []
    slack.heal()
    tick(job, clock, now, 61)
    digest, reply = slack.channel_messages(C1)
    assert reply["thread_ts"] == digest["ts"]  # the digest was posted before its reply
    assert len(slack.updated(C1)) == 1  # edited once, after it was posted
    assert digest["text"].startswith("IAM auth alerts resolved")
    assert reply["text"].startswith("IAM auth alerts resolved")


# The clock process itself --------------------------------------------------------------------
def test_clock_once_processes_never_post_a_digest_twice_when_the_answer_is_lost(
    aws: AwsClients, moto_endpoint: str, slack: SlackStandIn, tmp_path: Path, now: datetime
) -> None:
    put_per_minute(aws, "prod-db", INVALID, now, {m: 9.0 for m in range(-20, 10)})
    env = clock_env(
        moto_endpoint, slack, f"sqlite:///{tmp_path}/iamauth.db", write_config(tmp_path)
    )
    slack.accept_then_drop()
    for _ in range(2):
        result = run_iamauth(env, "clock", "--once")
        assert result.returncode == 0, result.stderr
    assert len(slack.channel_messages(C1)) == 1
    assert len(posts(slack)) == 1  # the second run found it in the history


@pytest.mark.parametrize(
    ("name", "value"), [("IAMAUTH_OUTBOX_MAX_AGE", "soon"), ("IAMAUTH_LEASE_SECONDS", "-5")]
)
def test_clock_refuses_a_bad_delivery_setting_with_one_line(
    moto_endpoint: str, slack: SlackStandIn, tmp_path: Path, name: str, value: str
) -> None:
    env = clock_env(
        moto_endpoint, slack, f"sqlite:///{tmp_path}/iamauth.db", write_config(tmp_path)
    )
    result = run_iamauth({**env, name: value}, "clock", "--once")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith(f"iamauth: {name}={value!r}: write ")
    assert slack.requests == []
