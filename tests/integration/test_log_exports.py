"""`/iamauth logs`, `/iamauth enable-logs` and its "Turn on" button, signed, over HTTP.

Turning the export on goes through a fake RDS client (tests/integration/fake_rds.py): moto's
server does not keep log exports changed by ModifyDBCluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.targets import Targets
from bot.bootstrap import Runtime, build_app, wsgi_app
from bot.domain.access import AccessPolicy
from bot.sandbox.local_server import LocalServer
from bot.sandbox.seed_aws import create_cluster
from bot.sandbox.slack_signing import block_actions_body, signed_headers
from bot.sandbox.slack_standin import Recorded, SlackStandIn
from bot.services.log_exports import LogExportService
from bot.services.queries import QueryService
from bot.views.log_exports import ENABLE_LOGS_ACTION
from tests.conftest import BotUnderTest
from tests.integration.fake_rds import FakeRdsClients, ModifyRecordingRds

ADMIN, BOB, CHANNEL = "U0ADMIN01", "U0BOB0001", "C0OPS00001"
EXACT_CALL = {
    "DBClusterIdentifier": "dev-db",
    "CloudwatchLogsExportConfiguration": {"EnableLogTypes": ["iam-db-auth-error"]},
    "ApplyImmediately": True,
}


@contextmanager
def bot_with_fake(
    runtime: Runtime,
    slack: SlackStandIn,
    fake: ModifyRecordingRds,
    *,
    access: AccessPolicy | None = None,
    timeout_seconds: float = 10.0,
) -> Iterator[BotUnderTest]:
    """The real Bolt app whose service reaches RDS through the fake, polling every 10 ms."""
    clients = FakeRdsClients(runtime.aws.settings, fake)
    targets = Targets((), clients.settings)
    queries = QueryService(
        clients,
        clock=runtime.clock,
        cache_seconds=runtime.settings.cache_seconds,
        targets=targets,
    )
    log_exports = LogExportService(
        clients,
        targets=targets,
        changed=queries.forget,
        modify_poll_seconds=0.01,
        modify_timeout_seconds=timeout_seconds,
    )
    settings = replace(runtime.settings, access=access or runtime.settings.access)
    runtime = replace(
        runtime, aws=clients, queries=queries, log_exports=log_exports, settings=settings
    )
    assert settings.slack_signing_secret
    with LocalServer(wsgi_app(build_app(runtime), runtime)) as server:
        yield BotUnderTest(server.url, settings.slack_signing_secret, slack, runtime)


@pytest.fixture
def clusters(aws: AwsClients) -> None:
    create_cluster(aws.rds(), "prod-db", iam=True, exports=["iam-db-auth-error", "postgresql"])
    create_cluster(aws.rds(), "dev-db", iam=True, exports=[], instances=1)


@pytest.fixture
def fake(aws: AwsClients, clusters: None) -> ModifyRecordingRds:
    return ModifyRecordingRds(aws.rds(), modifying_describes=2)


@pytest.fixture
def fbot(runtime: Runtime, slack: SlackStandIn, fake: ModifyRecordingRds) -> Iterator[BotUnderTest]:
    with bot_with_fake(runtime, slack, fake) as bot:
        yield bot


def all_text(message: dict[str, Any]) -> str:
    """Every text of a message, including those of buttons (objects, not strings)."""
    parts = [str(message.get("text", ""))]
    for block in message.get("blocks", []):
        if "text" in block:
            parts.append(block["text"]["text"])
        for element in block.get("elements", []):
            text = element.get("text", "")
            parts.append(text["text"] if isinstance(text, dict) else text)
    return "\n".join(parts)


def said(bot: BotUnderTest, text: str, user: str = ADMIN) -> dict[str, Any]:
    reply = bot.command(text, user_id=user, channel_id=CHANNEL)
    assert reply.response is not None
    return reply.response.body


def click(bot: BotUnderTest, value: str, name: str, user: str = ADMIN) -> Recorded:
    body = block_actions_body(
        ENABLE_LOGS_ACTION, value, bot.slack.response_url(name), user_id=user, channel_id=CHANNEL
    )
    status, raw = bot.post(body, signed_headers(bot.secret, body))
    assert (status, raw.strip()) == (200, b"")  # acked, and nothing more in the ack
    return bot.slack.wait_for(lambda r: r.path == f"/response/{name}")


def channel_posts(bot: BotUnderTest, count: int) -> list[Recorded]:
    bot.slack.wait_for(lambda _: len(bot.slack.posted(CHANNEL)) >= count)
    return bot.slack.posted(CHANNEL)


def test_logs_lists_exports_on_and_off(bot: BotUnderTest, clusters: None) -> None:
    on = all_text(said(bot, "logs prod-db"))
    assert ":large_green_circle: *on* `iam-db-auth-error`: who failed and why" in on
    assert ":large_green_circle: *on* `postgresql`: the engine's view" in on
    assert "/aws/rds/cluster/prod-db/iam-db-auth-error" in on
    assert "enable-logs" not in on
    assert "status `available`" in on
    off = all_text(said(bot, "logs dev-db"))
    assert ":white_circle: *off* `iam-db-auth-error`" in off
    assert ":white_circle: *off* `postgresql`" in off
    assert "Admins can turn it on with `/iamauth enable-logs dev-db`" in off


def test_logs_by_account_region_address(bot: BotUnderTest, clusters: None) -> None:
    text = all_text(said(bot, "logs 123456789012/us-east-1/dev-db"))
    assert "*Log exports of `dev-db` (`123456789012/us-east-1`)*" in text
    assert "`/iamauth enable-logs 123456789012/us-east-1/dev-db`" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("logs", "Which cluster? Usage: `/iamauth logs &lt;cluster&gt;`"),
        ("logs prod-db 1h", "Too many words."),
        ("enable-logs", "Which cluster? Usage: `/iamauth enable-logs &lt;cluster&gt;`"),
        ("enable-logs <!channel>", "is not an RDS cluster identifier"),
    ],
)
def test_bad_input_is_answered_in_the_ack(bot: BotUnderTest, text: str, expected: str) -> None:
    reply = bot.command(text, expect_reply=False)
    assert reply.ack is not None
    assert expected in all_text(reply.ack)
    assert "<!channel>" not in all_text(reply.ack)


def test_unknown_cluster(bot: BotUnderTest, clusters: None) -> None:
    assert "There is no Aurora cluster or RDS DB instance `nope-db`" in all_text(
        said(bot, "logs nope-db")
    )


def test_enable_logs_offers_a_button_with_a_confirm(
    fbot: BotUnderTest, fake: ModifyRecordingRds
) -> None:
    body = said(fbot, "enable-logs dev-db")
    assert body["response_type"] == "ephemeral"
    text = all_text(body)
    assert "`ModifyDBCluster` with" in text
    assert '`CloudwatchLogsExportConfiguration={"EnableLogTypes": ["iam-db-auth-error"]}`' in text
    assert "`ApplyImmediately=True`" in text
    assert "*No reboot and no dropped connections*" in text
    assert "`modifying`" in text
    assert "appears with the first failed IAM login" in text
    assert "Ignore this message" in text
    [button] = [e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["action_id"] == ENABLE_LOGS_ACTION
    assert button["value"] == "dev-db"
    assert button["style"] == "primary"
    confirm = button["confirm"]
    assert confirm["confirm"]["text"] == "Turn on"
    assert confirm["deny"]["text"] == "Cancel"
    assert "no reboot, no dropped connections" in confirm["text"]["text"]
    assert fake.calls == []  # offering changes nothing


def test_turning_on_modifies_once_announces_and_follows_up_in_the_thread(
    fbot: BotUnderTest, fake: ModifyRecordingRds
) -> None:
    service = fbot.runtime.queries
    assert not service.failures("dev-db", timedelta(hours=1)).log_export_on  # now cached
    fake.open.clear()  # AWS holds every call: the click is acked all the same
    body = block_actions_body(
        ENABLE_LOGS_ACTION,
        "dev-db",
        fbot.slack.response_url("t1"),
        user_id=ADMIN,
        channel_id=CHANNEL,
    )
    assert fbot.post(body, signed_headers(fbot.secret, body)) == (200, b"")
    assert fake.calls == []
    fake.open.set()
    replaced = fbot.slack.wait_for(lambda r: r.path == "/response/t1").body
    assert replaced["replace_original"] is True  # the offer cannot be clicked twice
    assert "Turning on the `iam-db-auth-error` export of `dev-db`" in all_text(replaced)

    announced, followed = channel_posts(fbot, 2)
    assert "thread_ts" not in announced.body
    said_first = all_text(announced.body)
    assert f"<@{ADMIN}> turned on the `iam-db-auth-error` log export of `dev-db`" in said_first
    assert "*No reboot and no dropped connections*" in said_first
    assert "`modifying`" in said_first
    ts = fbot.slack.messages[CHANNEL][0]["ts"]
    assert followed.body["thread_ts"] == ts
    done = all_text(followed.body)
    assert "`dev-db` is `available` again and the `iam-db-auth-error` export is on" in done
    assert fake.calls == [EXACT_CALL]

    # No cached "off" outlives the change.
    assert service.failures("dev-db", timedelta(hours=1)).log_export_on
    assert ":large_green_circle: *on* `iam-db-auth-error`" in all_text(said(fbot, "logs dev-db"))
    assert "is already on" in all_text(said(fbot, "enable-logs dev-db"))
    again = click(fbot, "dev-db", "t2").body
    assert "is already on" in all_text(again)
    assert fake.calls == [EXACT_CALL]
    audit = [(e.action, e.outcome, e.detail) for e in fbot.runtime.store.recent_audit(10)]
    assert (f"button {ENABLE_LOGS_ACTION} dev-db", "allowed", "requested") in audit
    assert (f"button {ENABLE_LOGS_ACTION} dev-db", "allowed", "already on") in audit


def test_while_modifying_logs_and_clicks_say_it_is_being_turned_on(
    runtime: Runtime, slack: SlackStandIn, aws: AwsClients, clusters: None
) -> None:
    fake = ModifyRecordingRds(aws.rds(), modifying_describes=10**6)
    with bot_with_fake(runtime, slack, fake, timeout_seconds=0.2) as bot:
        click(bot, "dev-db", "m1")
        _, followed = channel_posts(bot, 2)
        assert followed.body["thread_ts"] == bot.slack.messages[CHANNEL][0]["ts"]
        late = all_text(followed.body)
        assert "is not `available` with the export on after" in late
        assert "Check with `/iamauth logs dev-db`" in late
        logs = all_text(said(bot, "logs dev-db"))
        assert "*being turned on* (cluster `modifying`)" in logs
        assert "enable-logs" not in logs
        assert "already being turned on" in all_text(click(bot, "dev-db", "m2").body)
    assert fake.calls == [EXACT_CALL]


def test_only_admins_may_turn_it_on(
    runtime: Runtime, slack: SlackStandIn, fake: ModifyRecordingRds
) -> None:
    policy = AccessPolicy(enforced=True, admins=frozenset({ADMIN}), channels=frozenset({CHANNEL}))
    with bot_with_fake(runtime, slack, fake, access=policy) as bot:
        assert "Only iamauth admins may do that." in all_text(said(bot, "enable-logs dev-db", BOB))
        assert "*off* `iam-db-auth-error`" in all_text(said(bot, "logs dev-db", BOB))  # a read
        refused = click(bot, "dev-db", "r1", user=BOB).body  # a forwarded offer is no pass
        assert "Only iamauth admins may do that." in all_text(refused)
        assert refused["response_type"] == "ephemeral"
        assert fake.calls == []
        assert bot.slack.posted(CHANNEL) == []
        entries = bot.runtime.store.recent_audit(10)
        assert (BOB, f"button {ENABLE_LOGS_ACTION} dev-db", "refused") in [
            (e.user_id, e.action, e.outcome) for e in entries
        ]
        assert "Turn on" in all_text(said(bot, "enable-logs dev-db", ADMIN))
        click(bot, "dev-db", "r2", user=ADMIN)
        channel_posts(bot, 2)
    assert fake.calls == [EXACT_CALL]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("InvalidDBClusterStateFault", "`dev-db` cannot be changed right now: it is busy"),
        ("AccessDenied", "The bot may not call rds:ModifyDBCluster"),
        ("DBClusterNotFoundFault", "There is no Aurora cluster `dev-db`"),
        ("InvalidParameterCombination", "RDS refused the change: InvalidParameterCombination"),
        ("InternalFailure", "RDS answered InternalFailure for ModifyDBCluster."),
    ],
)
def test_modify_errors_reach_only_the_clicker(
    runtime: Runtime, slack: SlackStandIn, aws: AwsClients, clusters: None, code: str, expected: str
) -> None:
    fake = ModifyRecordingRds(aws.rds(), fail_with=code)
    with bot_with_fake(runtime, slack, fake) as bot:
        body = click(bot, "dev-db", "e1").body
        assert expected in all_text(body)
        assert body["response_type"] == "ephemeral"
        assert body["replace_original"] is False  # the offer stays, to try again
        assert bot.slack.posted() == []
        [entry] = bot.runtime.store.recent_audit(1)
        assert (entry.outcome, entry.action) == ("error", f"button {ENABLE_LOGS_ACTION} dev-db")
    assert fake.calls == [EXACT_CALL]


def test_forged_button_values_change_nothing(fbot: BotUnderTest, fake: ModifyRecordingRds) -> None:
    body = click(fbot, "<!channel>", "f1").body
    assert "not an RDS cluster identifier" in all_text(body)
    assert "<!channel>" not in all_text(body)
    assert "not a cluster address" in all_text(click(fbot, "1/2/3/dev-db", "f2").body)
    assert fake.calls == []
    assert [e.outcome for e in fbot.runtime.store.recent_audit(5)] == ["invalid", "invalid"]


def test_where_the_bot_may_not_post_the_news_goes_through_response_url(
    fbot: BotUnderTest, fake: ModifyRecordingRds
) -> None:
    fbot.slack.replies["chat.postMessage"] = lambda _: (
        200,
        {"ok": False, "error": "not_in_channel"},
        {},
    )
    click(fbot, "dev-db", "n1")
    fbot.slack.wait_for(lambda _: len(fbot.slack.responses("n1")) >= 3)
    replaced, announced, followed = (r.body for r in fbot.slack.responses("n1"))
    assert replaced["replace_original"] is True
    assert announced["response_type"] == followed["response_type"] == "in_channel"
    assert "turned on the `iam-db-auth-error` log export" in all_text(announced)
    assert "is `available` again" in all_text(followed)
    assert fake.calls == [EXACT_CALL]
