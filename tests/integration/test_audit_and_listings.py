"""What anyone may type reaching `/iamauth audit`, `/iamauth watches` and `iamauth audit` in a
terminal: a clear answer, an audit entry, long lists shown whole, no control sequence printed."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from bot.adapters.store.models import AuditRow
from bot.config import Settings
from bot.domain.address import parse_address
from bot.domain.watches import make_watch, parse_threshold_spec
from bot.views.blocks import MAX_BLOCKS, MAX_SECTION_TEXT
from bot.views.mrkdwn import escape
from tests.conftest import BotUnderTest, run_iamauth

USAGE = "Usage: `/iamauth audit [n]`, n from 1 to 100."
# An xterm title change and a screen clear, then a C1 CSI colour and a bidi override.
PLANTED = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eexe.txt"
SHOWN = "<U+001B>]0;pwned<U+0007><U+001B>[2J<U+009B>31m<U+202E>exe.txt"


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """The audit entry is written after the ack has gone back: wait for it, not for a time."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def terminal_env(database_url: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("IAMAUTH_CONFIG", None)
    return env


def test_an_entry_count_is_ascii_digits(bot: BotUnderTest) -> None:
    # "²" and "５" pass str.isdigit(); int() refuses "²" and a number of over 4,300 digits.
    counts = ["²", "５", "9" * 5000]
    for count in counts:
        reply = bot.command(f"audit {count}", expect_reply=False)
        assert reply.status == 200
        assert reply.ack is not None
        assert USAGE in str(reply.ack["text"])
    store = bot.runtime.store
    wait_until(lambda: len(store.recent_audit(10)) == len(counts))
    entries = store.recent_audit(10)
    assert {e.outcome for e in entries} == {"invalid"}
    assert {e.detail for e in entries} == {USAGE}
    assert sorted(e.action[:16] for e in entries) == sorted(
        f"/iamauth audit {c}"[:16] for c in counts
    )
    reply = bot.command("audit 2")
    assert reply.response is not None
    assert "*invalid*" in json.dumps(reply.response.body)


def test_iamauth_audit_prints_no_control_sequence(bot: BotUnderTest, settings: Settings) -> None:
    reply = bot.command(f"failures {PLANTED}", expect_reply=False)
    assert reply.ack is not None
    assert f"`{escape(SHOWN)}` is not an RDS cluster identifier" in str(reply.ack["text"])
    store = bot.runtime.store
    wait_until(lambda: len(store.recent_audit(5)) == 1)
    # A row as it may already be stored: what was typed, raw, in every column.
    with store.session() as session, session.begin():
        session.add(
            AuditRow(
                at=bot.runtime.clock(),
                user_id="U0EVE\x1b[2J",
                channel_id="C0OPS\u202e",
                action=f"/iamauth failures {PLANTED}",
                outcome="invalid",
                detail=f"`{PLANTED}` is not an RDS cluster identifier",
            )
        )
    env = terminal_env(settings.database_url)
    result = run_iamauth(env, "audit")
    assert result.returncode == 0, result.stderr
    for steering in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert steering not in result.stdout
    raw_row, typed_row = result.stdout.splitlines()
    assert raw_row.endswith(
        f"U0EVE<U+001B>[2J C0OPS<U+202E> invalid  '/iamauth failures {SHOWN}'  "
        f"(`{SHOWN}` is not an RDS cluster identifier)"
    )
    assert "<U+202E>exe.txt' " in typed_row
    # JSON output escapes by itself and keeps the text as stored.
    as_json = run_iamauth(env, "audit", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert "\x1b" not in as_json.stdout
    assert json.loads(as_json.stdout)[0]["action"] == f"/iamauth failures {PLANTED}"


def test_iamauth_audit_on_an_empty_store_says_so(tmp_path: Path) -> None:
    result = run_iamauth(terminal_env(f"sqlite:///{tmp_path}/empty.db"), "audit")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "The audit log is empty.\n"


def test_45_watches_are_all_listed(bot: BotUnderTest) -> None:
    thresholds = [
        parse_threshold_spec("invalid_token>=5/5m"),
        parse_threshold_spec("insufficient_permissions>=1/15m"),
    ]
    clusters = [f"orders-service-aurora-postgresql-production-{i:02d}" for i in range(45)]
    store, now = bot.runtime.store, bot.runtime.clock()
    for i, cluster in enumerate(clusters):
        watch = make_watch(
            parse_address(cluster), f"C0OPS{i:05d}", thresholds, repeat=timedelta(hours=4)
        )
        store.save_watch(watch, now)
    reply = bot.command("watches")
    assert reply.response is not None
    blocks = reply.response.body["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(sections) > 1
    assert all(len(s) <= MAX_SECTION_TEXT for s in sections)
    lines = "\n".join(sections).split("\n")
    assert lines[0] == "*Watches*"
    assert [line.split("`")[1] for line in lines[1:]] == clusters
    assert all(line.endswith("; repeat every 4h") for line in lines[1:])  # none cut
