"""Alert messages edited in place, between real processes: a clock killed (-9) after Slack made
its edit or its thread reply but before it heard back, and two clocks on PostgreSQL at once, still
leave one message with each reply once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.aws.clients import AwsClients
from bot.adapters.store.db import make_engine
from bot.adapters.store.repo import Store
from bot.sandbox.slack_standin import SlackStandIn
from tests.conftest import run_iamauth
from tests.integration.digest_helpers import INVALID, put_per_minute
from tests.integration.test_in_place_digests import replies, top_level
from tests.integration.test_store_and_leader import (
    PG_URL,
    clock_env,
    reset_postgres,
    wait_until,
    write_config,
)

C1 = "C0ALERTS01"  # write_config's watch: prod-db, invalid_token >= 5 in 5 min
MINUTES = range(-20, 30)


def breach(aws: AwsClients, now: datetime, per_minute: float) -> None:
    """`per_minute` more InvalidToken failures in each minute around now (they add up)."""
    put_per_minute(aws, "prod-db", INVALID, now, {m: per_minute for m in MINUTES})


def outbox(url: str) -> list[tuple[str, str]]:
    store = Store(make_engine(url))
    try:
        return [(row.kind, row.status) for row in store.outbox()]
    finally:
        store.engine.dispose()


def claimed_until(url: str) -> datetime:
    store = Store(make_engine(url))
    try:
        return max(r.claimed_until for r in store.outbox() if r.claimed_until is not None)
    finally:
        store.engine.dispose()


@pytest.mark.parametrize("method", ["chat.update", "chat.postMessage"])
def test_a_clock_killed_before_slack_answers_its_edit_or_reply_leaves_each_once(
    aws: AwsClients, moto_endpoint: str, slack: SlackStandIn, tmp_path: Path, method: str
) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    url = f"sqlite:///{tmp_path}/iamauth.db"
    env = clock_env(moto_endpoint, slack, url, write_config(tmp_path))
    breach(aws, now, 3.0)  # 15 in 5 min: firing
    assert run_iamauth(env, "clock", "--once").returncode == 0
    (message,) = top_level(slack)
    breach(aws, now, 4.0)  # 35: escalated, so an edit of the message and a reply in its thread
    slack.accept_then_hang(60, method=method)
    clock = subprocess.Popen(
        [sys.executable, "-m", "bot", "clock", "--once"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        slack.wait_for(lambda r: r.method == method and r.status == 0, timeout=60)
        clock.send_signal(signal.SIGKILL)  # Slack made it; the clock never heard
        clock.wait(timeout=10)
    finally:
        if clock.poll() is None:
            clock.kill()
    slack.heal()
    # The killed attempt's claim keeps every other process off its row until it lapses.
    time.sleep(max(0.0, (claimed_until(url) - datetime.now(UTC)).total_seconds()) + 0.5)
    result = run_iamauth(env, "clock", "--once")
    assert result.returncode == 0, result.stderr[-2000:]
    assert top_level(slack) == [slack.channel_messages(C1)[0]]  # still the one message
    assert top_level(slack)[0]["ts"] == message["ts"]
    (reply,) = replies(slack, message)
    assert "escalated" in reply["text"]
    assert "escalated" in top_level(slack)[0]["text"]
    assert outbox(url) == [("post", "sent"), ("update", "sent"), ("reply", "sent")]


def test_two_clocks_on_postgresql_edit_and_reply_once(
    aws: AwsClients, moto_endpoint: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    reset_postgres().dispose()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    breach(aws, now, 3.0)
    env = clock_env(moto_endpoint, slack, PG_URL, write_config(tmp_path))
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "clock"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        wait_until(lambda: len(top_level(slack)) >= 1)
        breach(aws, now, 4.0)  # escalated, while both clocks tick every second
        wait_until(lambda: any(m.get("thread_ts") for m in slack.channel_messages(C1)))
        time.sleep(3)  # several more ticks of both
        (message,) = top_level(slack)
        assert len(replies(slack, message)) == 1
        assert "escalated" in message["text"]
        kinds: list[Any] = [kind for kind, _ in outbox(PG_URL)]
        assert kinds.count("post") == 1
        assert kinds.count("reply") == 1
        assert len(slack.updated(C1)) == kinds.count("update")  # each edit made once
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=10)
