"""The Slack stand-in's chat.update, through slack_sdk over HTTP: it edits a message posted there,
answers `message_not_found` for an unknown ts (or one a person deleted), and takes faults like the
other methods."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.slack_standin import SlackStandIn

CHANNEL = "C0ALERTS01"


def client(slack: SlackStandIn) -> WebClient:
    return WebClient(token="xoxb-test", base_url=slack.api_url, timeout=5)


def test_chat_update_edits_the_message_in_place(slack: SlackStandIn) -> None:
    web = client(slack)
    ts = web.chat_postMessage(channel=CHANNEL, text="firing")["ts"]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "resolved"}}]
    answer = web.chat_update(channel=CHANNEL, ts=ts, text="resolved", blocks=blocks)
    assert answer["ok"]
    assert answer["ts"] == ts
    [message] = slack.channel_messages(CHANNEL)
    assert message["text"] == "resolved"
    assert message["blocks"] == blocks
    assert [r.body["ts"] for r in slack.updated(CHANNEL)] == [ts]


def test_chat_update_of_an_unknown_or_deleted_message(slack: SlackStandIn) -> None:
    web = client(slack)
    ts = web.chat_postMessage(channel=CHANNEL, text="firing")["ts"]
    with pytest.raises(SlackApiError) as unknown:
        web.chat_update(channel=CHANNEL, ts="1.000001", text="x")
    assert unknown.value.response["error"] == "message_not_found"
    assert slack.delete_message(CHANNEL, ts)
    with pytest.raises(SlackApiError) as deleted:
        web.chat_update(channel=CHANNEL, ts=ts, text="x")
    assert deleted.value.response["error"] == "message_not_found"
    assert slack.updated() == []


def test_chat_update_takes_faults(slack: SlackStandIn) -> None:
    web = client(slack)
    ts = web.chat_postMessage(channel=CHANNEL, text="firing")["ts"]
    slack.fail(method="chat.update", calls=1)
    with pytest.raises(SlackApiError):
        web.chat_update(channel=CHANNEL, ts=ts, text="not made")
    assert slack.channel_messages(CHANNEL)[0]["text"] == "firing"
    slack.accept_then_fail(method="chat.update")
    with pytest.raises(SlackApiError):
        web.chat_update(channel=CHANNEL, ts=ts, text="made, answer lost")
    assert slack.channel_messages(CHANNEL)[0]["text"] == "made, answer lost"
    assert web.chat_update(channel=CHANNEL, ts=ts, text="again")["ok"]
    assert len(slack.updated(CHANNEL)) == 2
