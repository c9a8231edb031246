"""One message per alert, edited in place (bot/services/alerting/in_place.py): through the real
pipeline, outbox sender and Bolt app to the Slack stand-in, an alert goes from firing through
acknowledged and escalated to resolved in one message, with its news in the thread; each edit is
delivered once whatever Slack answers, and a message a person deleted is posted again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.adapters.aws.clients import AwsClients
from bot.bootstrap import Runtime
from bot.domain.address import parse_address
from bot.domain.watches import make_watch, parse_threshold_spec
from bot.sandbox.slack_standin import SlackStandIn
from tests.conftest import BotUnderTest
from tests.integration.digest_helpers import INVALID, put_per_minute
from tests.integration.test_acknowledge import ALICE, click
from tests.integration.test_delivery_faults import C1, firing, jobs, tick

__all__ = ["jobs"]  # a fixture


def top_level(slack: SlackStandIn, channel: str = C1) -> list[dict[str, Any]]:
    """What the channel itself shows (conversations.history): no thread replies."""
    return [m for m in slack.channel_messages(channel) if m.get("thread_ts", m["ts"]) == m["ts"]]


def replies(slack: SlackStandIn, parent: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in slack.channel_messages(C1) if m.get("thread_ts") == parent["ts"] != m["ts"]]


def announced(
    aws: AwsClients, runtime: Runtime, job: Any, clock: Any, now: datetime, until: int
) -> Any:
    """prod-db breaching for C1 until minute `until` (none after), announced at that minute by
    `job` (the clock process's job); the job, to tick on."""
    firing(aws, runtime, now, {"prod-db": C1}, minutes=range(-20, until + 1))
    tick(job, clock, now, until)
    return job


def block_text(blocks: list[dict[str, Any]]) -> str:
    parts = []
    for block in blocks:
        if block["type"] in ("section", "header"):
            parts.append(block["text"]["text"])
        for element in block.get("elements") or []:
            parts.append(str(element.get("text")))
    return "\n".join(parts)


def test_an_alert_is_one_message_from_firing_through_acknowledged_to_resolved(
    aws: AwsClients, bot: BotUnderTest, now: datetime, clock: Any, jobs: Any
) -> None:
    # 10 in 5 min from minute 5 (firing at the threshold), 22 by minute 18 (escalated), then none.
    per_minute = (
        {m: 2.0 for m in range(0, 15)}
        | {m: 6.0 for m in range(15, 20)}
        | {m: 0.0 for m in range(20, 40)}
    )
    put_per_minute(aws, "prod-db", INVALID, now, per_minute)
    rule = parse_threshold_spec("invalid_token>=10/5m")
    bot.runtime.store.save_watch(make_watch(parse_address("prod-db"), C1, [rule]), now)
    job, slack = jobs(), bot.slack
    for minute in range(3, 36):
        tick(job, clock, now, minute)
        if minute == 9:
            (digest,) = top_level(slack)
            reply = click(bot, "ack", message={"text": digest["text"], "blocks": digest["blocks"]})
            assert reply["replace_original"] is True
    (message,) = top_level(slack)  # one message in the channel, from first to last
    thread = replies(slack, message)
    assert [r["text"].split(":")[0] for r in thread] == [
        "IAM auth alerts",  # escalated from 10 to 22
        "IAM auth alerts resolved",
    ]
    assert "escalated from 10" in block_text(thread[0]["blocks"])
    # It shows the end now: resolved, without buttons.
    assert message["text"].startswith("IAM auth alerts resolved: prod-db InvalidToken resolved")
    assert not any(b["type"] == "actions" for b in message["blocks"])
    # While acknowledged, the edits showed who was on it (the count moved at minute 19); the
    # escalation at minute 21 ended the acknowledgement, and the edits since show nobody.
    edits = slack.updated(C1)
    assert any(f"Acknowledged by <@{ALICE}>" in block_text(e.body["blocks"]) for e in edits)
    assert f"<@{ALICE}>" not in block_text(edits[-1].body["blocks"])
    assert all(e.status == 200 for e in edits)
    outbox = bot.runtime.store.outbox()
    assert [r.kind for r in outbox if r.kind != "update"] == ["post", "reply", "reply"]
    assert all(r.status == "sent" for r in outbox)


def test_a_message_deleted_by_a_person_is_posted_again_by_its_next_edit(
    aws: AwsClients, runtime: Runtime, jobs: Any, clock: Callable[[], datetime], slack: SlackStandIn,
    now: datetime,
) -> None:  # fmt: skip
    job = announced(aws, runtime, jobs(), clock, now, until=0)
    (first,) = top_level(slack)
    assert slack.delete_message(C1, first["ts"])
    tick(job, clock, now, 20)  # resolved: the edit finds no message, and posts it again
    (again,) = top_level(slack)
    assert again["ts"] != first["ts"]
    assert again["text"].startswith("IAM auth alerts resolved")
    (reply,) = replies(slack, again)  # the news goes under the message as it is now
    assert reply["text"].startswith("IAM auth alerts resolved")
    assert [r.status for r in runtime.store.outbox()] == ["sent"] * 3


def test_an_edit_whose_answer_is_lost_is_made_again_and_posts_nothing(
    aws: AwsClients, runtime: Runtime, jobs: Any, clock: Callable[[], datetime], slack: SlackStandIn,
    now: datetime,
) -> None:  # fmt: skip
    job = announced(aws, runtime, jobs(), clock, now, until=0)
    slack.accept_then_drop(method="chat.update")  # edited, then the connection drops
    tick(job, clock, now, 20)
    assert [r.status for r in runtime.store.outbox()] == ["sent", "pending", "pending"]
    tick(job, clock, now, 21)
    (message,) = top_level(slack)
    assert message["text"].startswith("IAM auth alerts resolved")
    assert len(replies(slack, message)) == 1
    assert len(slack.updated(C1)) == 2  # the same edit twice: it changes nothing the second time
    assert [r.status for r in runtime.store.outbox()] == ["sent"] * 3


def test_a_reply_whose_answer_is_lost_is_found_in_its_thread_not_posted_twice(
    aws: AwsClients, runtime: Runtime, jobs: Any, clock: Callable[[], datetime], slack: SlackStandIn,
    now: datetime,
) -> None:  # fmt: skip
    # Resolved at the real time (the thread is searched from the attempt's start, by Slack's clock).
    job = announced(aws, runtime, jobs(), clock, now, until=-10)
    slack.accept_then_drop(method="chat.postMessage")  # the reply is posted, its answer lost
    tick(job, clock, now, 0)
    tick(job, clock, now, 1)
    (message,) = top_level(slack)
    assert len(replies(slack, message)) == 1
    searched = [r for r in slack.requests if r.method == "conversations.replies"]
    assert searched
    assert searched[0].body["ts"] == message["ts"]
    assert [r.status for r in runtime.store.outbox()] == ["sent"] * 3


def test_edits_wait_out_a_slack_outage_and_land_in_order(
    aws: AwsClients, runtime: Runtime, jobs: Any, clock: Callable[[], datetime], slack: SlackStandIn,
    now: datetime,
) -> None:  # fmt: skip
    job = announced(aws, runtime, jobs(), clock, now, until=0)
    slack.fail(status=500, error="internal_error")  # every call, until healed
    for minute in range(20, 26):
        tick(job, clock, now, minute)
    slack.heal()
    tick(job, clock, now, 61)
    (message,) = top_level(slack)
    assert message["text"].startswith("IAM auth alerts resolved")
    assert len(replies(slack, message)) == 1
    applied = [e for e in slack.updated(C1) if e.status == 200]
    assert len(applied) == 1
    assert [r.status for r in runtime.store.outbox()] == ["sent"] * 3


def test_after_an_outage_a_message_is_edited_once_to_what_it_shows_now(
    aws: AwsClients, runtime: Runtime, jobs: Any, clock: Callable[[], datetime], slack: SlackStandIn,
    now: datetime,
) -> None:  # fmt: skip
    # 15, 20, 25… failures in successive 5-minute windows: the count moves.
    counts = {m: 3.0 + (m - 5) // 5 if m >= 5 else 3.0 for m in range(-20, 60)}
    put_per_minute(aws, "prod-db", INVALID, now, counts)
    rule = parse_threshold_spec("invalid_token>=10/5m")
    runtime.store.save_watch(make_watch(parse_address("prod-db"), C1, [rule]), now)
    job = jobs()
    tick(job, clock, now, 0)
    slack.fail(status=503, error="service_unavailable")
    for minute in range(5, 30, 5):  # an edit owed every 5 minutes, none delivered
        tick(job, clock, now, minute)
    owed = [r for r in runtime.store.outbox() if r.kind == "update"]
    assert len(owed) >= 3
    slack.heal()
    tick(job, clock, now, 30)
    applied = [e for e in slack.updated(C1) if e.status == 200]
    assert len(applied) == 1  # to what it shows now
    (message,) = top_level(slack)
    updates = [r for r in runtime.store.outbox() if r.kind == "update"]
    assert message["text"] == applied[0].body["text"] == updates[-1].text
    assert [r.status for r in updates] == ["superseded"] * (len(updates) - 1) + ["sent"]


def test_news_of_a_message_deleted_after_its_last_edit_goes_on_its_own_and_becomes_it(
    aws: AwsClients, runtime: Runtime, jobs: Any, clock: Callable[[], datetime], slack: SlackStandIn,
    now: datetime,
) -> None:  # fmt: skip
    job = announced(aws, runtime, jobs(), clock, now, until=-10)
    (first,) = top_level(slack)
    slack.fail(method="chat.postMessage", calls=1)  # the edit lands, its reply waits
    tick(job, clock, now, 0)  # resolved
    assert slack.delete_message(C1, first["ts"])  # then a person deletes the message
    tick(job, clock, now, 1)  # the reply finds no thread (searched first: it was unsure)
    (alone,) = top_level(slack)
    assert alone["text"].startswith("IAM auth alerts resolved")
    assert alone["ts"] != first["ts"]
    (key,) = {r.message_key for r in runtime.store.outbox()}
    assert key is not None
    assert runtime.store.message_ts(key) == alone["ts"]  # later edits go to it
    assert [r.status for r in runtime.store.outbox()] == ["sent"] * 3
