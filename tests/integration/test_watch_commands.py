"""`/iamauth watch|unwatch|watches|silence|unsilence` and the digest buttons, signed, over HTTP."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot.aws.clients import AwsClients
from bot.domain.records import Family
from bot.domain.watches import make_watch, parse_threshold_spec
from bot.runtime import Runtime
from bot.seed import create_cluster
from bot.slack.app import build_app, wsgi_app
from bot.slack.render_digest import SHOW_FAILURES_ACTION, SILENCE_ACTION
from bot.slack.serve import LocalServer
from bot.slack.signing import block_actions_body, signed_headers
from bot.watching import WatchService
from tests.conftest import BotUnderTest
from tests.integration.test_slash_commands import all_text


def reply_text(
    bot: BotUnderTest, text: str, *, channel_id: str = "C0DEMO0001", user_id: str = "U0DEMO0001"
) -> str:
    reply = bot.command(text, channel_id=channel_id, user_id=user_id)
    assert reply.response is not None
    return all_text(reply.response.body)


def test_watch_list_and_unwatch(bot: BotUnderTest) -> None:
    text = reply_text(
        bot,
        "watch prod-db invalid_token>=3/10m repeat=1h",
        channel_id="C0OPS00001",
        user_id="U0ALICE01",
    )
    assert (
        "Now watching `prod-db` → <#C0OPS00001>: invalid_token ≥ 3 in 10m; repeat every 1h" in text
    )
    (watch,) = bot.runtime.store.list_watches()
    assert watch.thresholds == (parse_threshold_spec("invalid_token>=3/10m"),)
    assert watch.created_by == "U0ALICE01"
    # Another channel, named the way Slack sends it; default thresholds.
    text = reply_text(bot, "watch prod-db <#C0SEC00001|security> resolved=no")
    assert "<#C0SEC00001>: invalid_token ≥ 5 in 5m, insufficient_permissions ≥ 1 in 15m" in text
    assert "no resolved notice" in text
    # Watching again replaces, not duplicates.
    assert "Updated the watch of" in reply_text(
        bot, "watch prod-db invalid_token>=9/5m", channel_id="C0OPS00001"
    )
    listing = reply_text(bot, "watches")
    assert listing.count("`prod-db`") == 2
    assert "≥ 9 in 5m" in listing
    assert "Stopped watching `prod-db` for <#C0OPS00001>" in reply_text(
        bot, "unwatch prod-db", channel_id="C0OPS00001"
    )
    assert "was not watched" in reply_text(bot, "unwatch prod-db", channel_id="C0OPS00001")
    assert [w.channel for w in bot.runtime.store.list_watches()] == ["C0SEC00001"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("watch", "Which cluster?"),
        ("watch prod-db invalid_token>5/5m", "is not a threshold"),
        ("watch prod-db bogus_family>=5/5m", "is not a family to watch"),
        ("watch prod-db invalid_token>=0/5m", "count must be"),
        ("watch prod-db invalid_token>=5/2d", "at most `24h`"),
        ("watch prod-db invalid_token>=5/5m invalid_token>=6/5m", "one threshold"),
        ("watch prod-db #general", "is not a threshold"),
        ("watch bad--id", "not an RDS cluster identifier"),
        ("silence prod-db", "Usage"),
        ("silence prod-db 60d", "at most `30d`"),
        ("unwatch prod-db general", "Name the channel as"),
    ],
)
def test_bad_watch_input_changes_nothing(bot: BotUnderTest, text: str, expected: str) -> None:
    reply = bot.command(text, expect_reply=False)
    assert reply.ack is not None
    assert expected in all_text(reply.ack)
    assert bot.runtime.store.list_watches() == []
    assert bot.runtime.store.active_silences(bot.runtime.clock()) == {}


def test_config_watches_are_shown_and_cannot_be_changed_from_slack(
    runtime: Runtime, slack: Any
) -> None:
    config_watch = make_watch(
        "prod-db", "C0OPS00001", [parse_threshold_spec("invalid_token>=5/5m")], source="config"
    )
    runtime = replace(
        runtime,
        settings=replace(runtime.settings, watches=(config_watch,)),
        watching=WatchService(runtime.store, (config_watch,), runtime.clock),
    )
    app = build_app(runtime)
    assert runtime.settings.slack_signing_secret
    with LocalServer(wsgi_app(app, runtime)) as server:
        bot = BotUnderTest(server.url, runtime.settings.slack_signing_secret, slack, runtime)
        assert "_(config file)_" in reply_text(bot, "watches")
        assert "in the config file; remove it there" in reply_text(
            bot, "unwatch prod-db", channel_id="C0OPS00001"
        )
        assert "in the config file; change it there" in reply_text(
            bot, "watch prod-db invalid_token>=1/5m", channel_id="C0OPS00001"
        )
        assert runtime.store.list_watches() == []


def test_silence_and_unsilence(bot: BotUnderTest) -> None:
    now = bot.runtime.clock()
    text = reply_text(bot, "silence prod-db 2h planned rotation <!channel>")
    assert "silenced until" in text
    assert "&lt;!channel&gt;" in text
    silences = bot.runtime.store.active_silences(now)
    assert silences["prod-db"].until == now + timedelta(hours=2)
    listing = reply_text(bot, "watches")
    assert "Nothing is watched yet" in listing
    assert "`prod-db` until" in listing
    assert "(planned rotation &lt;!channel&gt;)" in listing
    assert "no longer silenced" in reply_text(bot, "unsilence prod-db")
    assert "was not silenced" in reply_text(bot, "unsilence prod-db")
    assert bot.runtime.store.active_silences(now) == {}


def click(bot: BotUnderTest, action_id: str, value: str, name: str) -> dict[str, Any]:
    body = block_actions_body(action_id, value, bot.slack.response_url(name), user_id="U0BOB0001")
    status, raw = bot.post(body, signed_headers(bot.secret, body))
    assert status == 200
    assert raw.strip() == b""
    return bot.slack.wait_for(lambda r: r.path == f"/response/{name}").body


def test_silence_button(bot: BotUnderTest) -> None:
    body = click(bot, SILENCE_ACTION, "prod-db", "s1")
    assert body["response_type"] == "in_channel"
    assert body["replace_original"] is False
    assert "silenced until" in body["text"]
    assert "(by <@U0BOB0001>)" in body["text"]
    assert "prod-db" in bot.runtime.store.active_silences(bot.runtime.clock())


def test_show_failures_button(bot: BotUnderTest, aws: AwsClients) -> None:
    create_cluster(aws.rds(), "prod-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    body = click(
        bot, SHOW_FAILURES_ACTION, json.dumps({"cluster": "prod-db", "window": "15m"}), "f1"
    )
    assert body["response_type"] == "ephemeral"
    assert "IAM auth failures · prod-db" in all_text(body)
    assert "(15m)" in all_text(body)


def test_buttons_with_forged_values_change_nothing(bot: BotUnderTest) -> None:
    body = click(bot, SILENCE_ACTION, "<!channel>", "x1")
    assert "not an RDS cluster identifier" in all_text(body)
    body = click(bot, SHOW_FAILURES_ACTION, "not json", "x2")
    assert "not valid" in all_text(body)
    assert bot.runtime.store.active_silences(bot.runtime.clock()) == {}


def test_family_keys_round_trip() -> None:
    assert (
        parse_threshold_spec("insufficient_permissions>=1/15m").family
        is Family.INSUFFICIENT_PERMISSIONS
    )


def test_watch_by_account_region_address(bot: BotUnderTest) -> None:
    text = reply_text(bot, "watch 111111111111/us-east-1/prod-db invalid_token>=5/5m")
    assert "Now watching `111111111111/us-east-1/prod-db`" in text
    assert [w.cluster for w in bot.runtime.store.list_watches()] == [
        "111111111111/us-east-1/prod-db"
    ]
    reply = bot.command("watch 1111/us-east-1/prod-db", expect_reply=False)
    assert reply.ack is not None
    assert "is not a cluster address" in all_text(reply.ack)
    assert "Stopped watching" in reply_text(bot, "unwatch 111111111111/us-east-1/prod-db")
