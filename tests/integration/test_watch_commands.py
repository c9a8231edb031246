"""`/iamauth watch|unwatch|watches|silence|unsilence` and the digest buttons, signed, over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.adapters.aws.clients import AwsClients
from bot.adapters.slack.web_client import web_client
from bot.bootstrap import Runtime, build_app, wsgi_app
from bot.config import Settings
from bot.domain.address import Address, parse_address
from bot.domain.records import Family
from bot.domain.watches import make_watch, parse_threshold_spec
from bot.sandbox.local_server import LocalServer
from bot.sandbox.seed_aws import create_cluster
from bot.sandbox.slack_signing import block_actions_body, signed_headers
from bot.sandbox.slack_standin import SlackStandIn
from bot.services.watches import WatchService
from bot.views.digest import SHOW_FAILURES_ACTION, SILENCE_ACTION
from tests.conftest import BotUnderTest
from tests.integration.digest_helpers import INVALID, put_per_minute
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
        ("watch prod-db invalid_token>5/5m", "is not a threshold"),
        ("watch prod-db bogus_family>=5/5m", "is not a family to watch"),
        ("watch prod-db invalid_token>=0/5m", "count must be"),
        ("watch prod-db invalid_token>=5/2d", "at most `24h`"),
        ("watch prod-db repeat=8d", "repeat can be at most `7d`"),
        ("watch prod-db repeat=often", "is not a window"),
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
        parse_address("prod-db"),
        "C0OPS00001",
        [parse_threshold_spec("invalid_token>=5/5m")],
        source="config",
    )
    runtime = replace(
        runtime,
        settings=replace(runtime.settings, watches=(config_watch,)),
        watches=WatchService(runtime.store, (config_watch,), runtime.clock),
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
    assert silences[Address("prod-db")].until == now + timedelta(hours=2)
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
    assert Address("prod-db") in bot.runtime.store.active_silences(bot.runtime.clock())


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
    assert [str(w.cluster) for w in bot.runtime.store.list_watches()] == [
        "111111111111/us-east-1/prod-db"
    ]
    reply = bot.command("watch 1111/us-east-1/prod-db", expect_reply=False)
    assert reply.ack is not None
    assert "is not a cluster address" in all_text(reply.ack)
    assert "Stopped watching" in reply_text(bot, "unwatch 111111111111/us-east-1/prod-db")


def digest_buttons(posted: dict[str, Any]) -> dict[str, str]:
    """action id → value of the buttons of a posted digest."""
    return {
        element["action_id"]: element["value"]
        for block in posted["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    }


def test_buttons_and_silences_of_a_watch_by_account_region_address(
    bot: BotUnderTest, aws: AwsClients, now: datetime
) -> None:
    """The default target is moto's account in us-east-1, so the address names that place."""
    address = "123456789012/us-east-1/prod-db"
    create_cluster(aws.rds(), "prod-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    put_per_minute(aws, "prod-db", INVALID, now, {m: 3.0 for m in range(-10, 30)})
    assert "Now watching" in reply_text(bot, f"watch {address} invalid_token>=5/5m")
    runner = bot.runtime.digest_runner()

    # `silence <address>` silences that watch; so does the short name, which covers every place.
    assert f"Alerts of `{address}` are silenced until" in reply_text(bot, f"silence {address} 1h")
    assert runner.tick(now).notices == []
    assert "no longer silenced" in reply_text(bot, f"unsilence {address}")
    assert "silenced until" in reply_text(bot, "silence prod-db 1h")
    assert runner.tick(now + timedelta(minutes=1)).notices == []
    assert "no longer silenced" in reply_text(bot, "unsilence prod-db")
    fired = runner.tick(now + timedelta(minutes=2)).notices
    assert [(str(watch.cluster), notice.kind.value) for watch, notice in fired] == [
        (address, "firing")
    ]

    bot.runtime.deliverer(web_client(bot.runtime.settings)).deliver_pending()
    (digest,) = bot.slack.posted("C0DEMO0001")
    buttons = digest_buttons(digest.body)
    assert buttons[SILENCE_ACTION] == address
    failures = click(bot, SHOW_FAILURES_ACTION, buttons[SHOW_FAILURES_ACTION], "f1")
    assert "IAM auth failures · prod-db · 123456789012/us-east-1" in all_text(failures)
    silenced = click(bot, SILENCE_ACTION, buttons[SILENCE_ACTION], "s1")
    assert f"Alerts of `{address}` are silenced until" in silenced["text"]
    assert set(map(str, bot.runtime.store.active_silences(bot.runtime.clock()))) == {address}
    assert [e.outcome for e in bot.runtime.store.recent_audit(2)] == ["allowed", "allowed"]


def test_silencing_an_address_says_when_plain_name_watches_are_not_covered(
    bot: BotUnderTest,
) -> None:
    reply_text(bot, "watch prod-db")
    text = reply_text(bot, "silence 123456789012/us-east-1/prod-db 1h")
    assert "Watches of plain `prod-db` are not covered" in text
    assert "not covered" not in reply_text(bot, "silence 123456789012/us-east-1/orders-db 1h")


EDGE = "123456789012/us-east-1/edge-db"  # moto's account and the one target's region: edge-db


@contextmanager
def serving(runtime: Runtime, slack: SlackStandIn) -> Iterator[BotUnderTest]:
    assert runtime.settings.slack_signing_secret
    with LocalServer(wsgi_app(build_app(runtime), runtime)) as server:
        yield BotUnderTest(server.url, runtime.settings.slack_signing_secret, slack, runtime)


def test_a_cluster_already_watched_for_a_channel_under_another_name_is_refused(
    settings: Settings, aws: AwsClients, clock: Callable[[], datetime], slack: SlackStandIn
) -> None:
    config_watch = make_watch(
        parse_address("edge-db"),
        "C0OPS00001",
        [parse_threshold_spec("invalid_token>=5/5m")],
        source="config",
    )
    runtime = Runtime.build(replace(settings, watches=(config_watch,)), aws=aws, clock=clock)
    with serving(runtime, slack) as bot:
        ops = {"channel_id": "C0OPS00001"}
        assert (
            f"`{EDGE}` is watched for <#C0OPS00001> as `edge-db` in the config file; change it there"
            in reply_text(bot, f"watch {EDGE}", **ops)
        )
        assert "remove it there" in reply_text(bot, f"unwatch {EDGE}", **ops)
        assert "Now watching `orders-db`" in reply_text(bot, "watch orders-db", **ops)
        refused = reply_text(bot, "watch 123456789012/us-east-1/orders-db", **ops)
        assert (
            "`123456789012/us-east-1/orders-db` is the cluster `orders-db`, already watched for "
            "<#C0OPS00001> (added from Slack)" in refused
        )
        # Other places, other channels, other clusters: other watches.
        assert "Now watching" in reply_text(bot, "watch 210987654321/us-east-1/orders-db", **ops)
        assert "Now watching" in reply_text(bot, f"watch {EDGE}", channel_id="C0SEC00001")
        # Named the other way, the Slack watch is still the one `unwatch` removes.
        assert "Stopped watching `orders-db` for <#C0OPS00001>" in reply_text(
            bot, "unwatch 123456789012/us-east-1/orders-db", **ops
        )
        assert sorted((str(w.cluster), w.channel) for w in runtime.store.list_watches()) == [
            ("123456789012/us-east-1/edge-db", "C0SEC00001"),
            ("210987654321/us-east-1/orders-db", "C0OPS00001"),
        ]
        outcomes = [e.outcome for e in runtime.store.recent_audit(7)]
        assert outcomes == ["allowed"] * 7  # refusals are answers too, audited as such


def test_the_digest_posts_a_cluster_once_to_a_channel_however_often_it_is_watched(
    settings: Settings,
    aws: AwsClients,
    clock: Callable[[], datetime],
    slack: SlackStandIn,
    now: datetime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A watch saved before duplicates were refused: left out of the digest, marked in the list."""
    threshold = [parse_threshold_spec("invalid_token>=5/5m")]
    config_watch = make_watch(parse_address("edge-db"), "C0OPS00001", threshold, source="config")
    runtime = Runtime.build(replace(settings, watches=(config_watch,)), aws=aws, clock=clock)
    runtime.store.save_watch(make_watch(parse_address(EDGE), "C0OPS00001", threshold), now)
    runtime.store.save_watch(make_watch(parse_address(EDGE), "C0SEC00001", threshold), now)
    put_per_minute(aws, "edge-db", INVALID, now, {m: 3.0 for m in range(-10, 1)})

    result = runtime.digest_runner().tick(now)
    fired = sorted((w.channel, str(w.cluster), w.source) for w, _ in result.notices)
    assert fired == [("C0OPS00001", "edge-db", "config"), ("C0SEC00001", EDGE, "slack")]
    assert [(str(s.watch.cluster), s.watch.channel) for s in result.skipped] == [
        (EDGE, "C0OPS00001")
    ]
    left_out = [r.getMessage() for r in caplog.records if r.getMessage().startswith("digest: ")]
    assert left_out == [
        f"digest: 1 watch(es) left out this tick: {EDGE} for C0OPS00001: "
        "the same cluster as `edge-db` (config file) for this channel"
    ]
    runtime.deliverer(web_client(runtime.settings)).deliver_pending()
    (digest,) = slack.posted("C0OPS00001")
    assert digest.body["text"] == "IAM auth alerts: edge-db InvalidToken firing (15)"
    assert len(slack.posted("C0SEC00001")) == 1

    with serving(runtime, slack) as bot:
        lines = reply_text(bot, "watches").splitlines()
    marked = [line for line in lines if "not sent" in line]
    assert marked == [
        f"`{EDGE}` → <#C0OPS00001>: invalid_token ≥ 5 in 5m; repeat every 4h :no_entry: _not "
        "sent: the same cluster as `edge-db` (config file) for this channel_"
    ]
