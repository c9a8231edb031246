"""A channel told an alert is firing hears how it ended: resolved after the silence it ended in,
or "no longer watched" when its watch is removed while it fires. Commands go through the real
Bolt app, signed; digests are ticked and delivered to the Slack stand-in."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.adapters.aws.clients import AwsClients
from bot.adapters.slack.outbox_delivery import Deliverer
from bot.adapters.slack.web_client import web_client
from bot.views.chart_files import digest_png
from tests.conftest import BotUnderTest
from tests.integration.digest_helpers import INVALID, put_per_minute
from tests.integration.test_watch_commands import reply_text

HERE = "C0DEMO0001"  # where the test's commands are typed, and the watch's channel


def deliver(bot: BotUnderTest) -> int:
    return bot.runtime.deliverer(web_client(bot.runtime.settings)).deliver_pending()


def digests(bot: BotUnderTest) -> list[str]:
    """Each digest posted here: its fallback text, then its sections' text."""
    return [
        "\n".join(
            [
                posted.body["text"],
                *(b["text"]["text"] for b in posted.body["blocks"] if b["type"] == "section"),
            ]
        )
        for posted in bot.slack.posted(HERE)
    ]


def fire(
    bot: BotUnderTest, now: datetime, watch: str = "watch prod-db invalid_token>=10/5m"
) -> None:
    """`prod-db` watched here, breaching at `now` and announced."""
    assert "Now watching" in reply_text(bot, watch)
    result = bot.runtime.digest_runner().tick(now)
    assert [n.kind.value for _, n in result.notices] == ["firing"]
    assert deliver(bot) == 1


@pytest.mark.parametrize("ended_by", ["expiry", "unsilence"])
def test_an_alert_that_ends_during_a_silence_is_resolved_once_the_silence_ends(
    bot: BotUnderTest, aws: AwsClients, now: datetime, ended_by: str
) -> None:
    # 3 a minute (15 in 5 min) until minute 5, then none: under the threshold from minute ~13.
    put_per_minute(aws, "prod-db", INVALID, now, {m: 3.0 for m in range(-10, 5)})
    put_per_minute(aws, "prod-db", INVALID, now, {m: 0.0 for m in range(5, 45)})
    fire(bot, now)
    assert "silenced until" in reply_text(bot, "silence prod-db 30m deploy")
    runner = bot.runtime.digest_runner()
    for minute in range(1, 30):  # it ends during the silence: nothing is said during it
        assert runner.tick(now + timedelta(minutes=minute)).notices == []
    deliver(bot)  # at most its counts edited in place: nothing posted
    assert len(digests(bot)) == 1
    if ended_by == "unsilence":
        assert "no longer silenced" in reply_text(bot, "unsilence prod-db")
        ends = now + timedelta(minutes=29, seconds=30)
    else:
        ends = now + timedelta(minutes=30)  # the first tick at or after its end
    resolved = runner.tick(ends).notices
    assert [(str(w.cluster), n.kind.value, n.count) for w, n in resolved] == [
        ("prod-db", "resolved", 0)
    ]
    assert deliver(bot) == 2  # the digest edited to say so, and a reply in its thread
    assert digests(bot)[-1].startswith("IAM auth alerts resolved: prod-db InvalidToken resolved")
    assert runner.tick(ends + timedelta(minutes=1)).notices == []  # told once
    assert deliver(bot) == 0


def test_unwatching_a_firing_cluster_tells_its_channel_in_the_same_transaction(
    bot: BotUnderTest, aws: AwsClients, now: datetime
) -> None:
    put_per_minute(aws, "prod-db", INVALID, now, {m: 3.0 for m in range(-10, 10)})
    fire(bot, now)
    store = bot.runtime.store
    reply = reply_text(bot, "unwatch prod-db")
    assert f"Stopped watching `prod-db` for <#{HERE}>" in reply
    assert "The channel is told" in reply
    # Written with the deletion and its audit entry: all three are there, nothing posted yet.
    assert store.list_watches() == []
    assert store.alert_states() == {}
    last = store.outbox()[-1]
    assert (last.channel, last.status) == (HERE, "pending")
    assert [(e.action, e.outcome) for e in store.recent_audit(1)] == [
        ("/iamauth unwatch prod-db", "allowed")
    ]
    assert deliver(bot) == 2  # the alert's message edited, and the farewell in its thread
    farewell = digests(bot)[-1]
    assert farewell.startswith(
        "IAM auth alerts: prod-db no longer watched (was firing: InvalidToken)"
    )
    assert "*prod-db* is no longer watched for this channel by <@U0DEMO0001>" in farewell
    assert "*InvalidToken* was firing since" in farewell
    message, farewell_reply = bot.slack.channel_messages(HERE)
    assert farewell_reply["thread_ts"] == message["ts"]
    assert message["text"].endswith("prod-db no longer watched")
    shown = str(message["blocks"])
    assert "no longer watched for this channel by <@U0DEMO0001>" in shown
    assert "'actions'" not in shown  # no buttons for alerts that no longer come here
    # The next tick has nothing left to say about it.
    assert bot.runtime.digest_runner().tick(now + timedelta(minutes=1)).notices == []
    assert deliver(bot) == 0


def test_an_alert_resolved_during_a_silence_and_then_unwatched_says_so(
    bot: BotUnderTest, aws: AwsClients, now: datetime
) -> None:
    put_per_minute(aws, "prod-db", INVALID, now, {m: 3.0 for m in range(-10, 1)})
    put_per_minute(aws, "prod-db", INVALID, now, {m: 0.0 for m in range(1, 20)})
    fire(bot, now)
    reply_text(bot, "silence prod-db 1h")
    assert bot.runtime.digest_runner().tick(now + timedelta(minutes=15)).notices == []
    assert "The channel is told" in reply_text(bot, "unwatch prod-db")
    assert deliver(bot) == 2
    assert "*InvalidToken* was firing since" in digests(bot)[-1]
    assert "it ended during a silence" in digests(bot)[-1]


@pytest.mark.parametrize(
    ("watch", "per_minute"),
    [
        ("watch prod-db invalid_token>=10/5m resolved=no", 3.0),  # no resolved notices wanted
        ("watch prod-db invalid_token>=100/5m", 3.0),  # never fired
    ],
)
def test_unwatching_owes_nothing_to_a_channel_not_told_of_a_firing_alert(
    bot: BotUnderTest, aws: AwsClients, now: datetime, watch: str, per_minute: float
) -> None:
    put_per_minute(aws, "prod-db", INVALID, now, {m: per_minute for m in range(-10, 1)})
    assert "Now watching" in reply_text(bot, watch)
    bot.runtime.digest_runner().tick(now)
    posted = deliver(bot)
    reply = reply_text(bot, "unwatch prod-db")
    assert "Stopped watching" in reply
    assert "The channel is told" not in reply
    assert deliver(bot) == 0
    assert len(digests(bot)) == posted


def test_a_deliverer_posts_the_farewell_like_any_digest(
    bot: BotUnderTest, aws: AwsClients, now: datetime
) -> None:
    """The farewell row is an ordinary outbox row: a restarted process posts it once."""
    put_per_minute(aws, "prod-db", INVALID, now, {m: 3.0 for m in range(-10, 1)})
    fire(bot, now)
    reply_text(bot, "unwatch prod-db")
    restarted = Deliverer(
        bot.runtime.store,
        web_client(bot.runtime.settings),
        bot.runtime.clock,
        draw_chart=digest_png,
    )
    assert restarted.deliver_pending() == 2  # the edit, and the farewell in the thread
    assert deliver(bot) == 0
    assert len(digests(bot)) == 2
