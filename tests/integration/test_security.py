"""Who may ask and change what; the audit log; secrets; `iamauth doctor`."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.aws.clients import AwsClients
from bot.adapters.slack.web_client import web_client
from bot.bootstrap import Runtime, build_app, wsgi_app
from bot.config import Settings
from bot.domain.access import AccessPolicy, ClusterAccess
from bot.domain.address import Address
from bot.domain.user_rate import UserRate
from bot.sandbox.iam_simulator import IamSimulator
from bot.sandbox.local_server import LocalServer
from bot.sandbox.seed_aws import Failure, create_cluster, put_failures
from bot.sandbox.slack_signing import block_actions_body, signed_headers, slash_command_body
from bot.sandbox.slack_standin import SlackStandIn
from bot.services.doctor import run_checks
from bot.views.digest import SHOW_FAILURES_ACTION, SILENCE_ACTION
from tests.conftest import BotUnderTest, run_iamauth
from tests.integration.test_slash_commands import all_text

OPS, PROD, ELSEWHERE = "C0OPS00001", "C0PROD0001", "C0RANDOM01"
ADMIN, ALICE, BOB, CAROL = "U0ADMIN01", "U0ALICE01", "U0BOB0001", "U0CAROL01"
POLICY = AccessPolicy(
    enforced=True,
    admins=frozenset({ADMIN}),
    channels=frozenset({OPS}),
    clusters={
        "prod-db": ClusterAccess(channels=frozenset({PROD}), owners=frozenset({ALICE, "S0DBTEAM"}))
    },
)


@pytest.fixture
def guarded(runtime: Runtime, slack: SlackStandIn) -> Iterator[BotUnderTest]:
    """The bot with an [access] policy; CAROL is in the owners' user group S0DBTEAM."""
    slack.usergroups["S0DBTEAM"] = {CAROL}
    runtime = replace(runtime, settings=replace(runtime.settings, access=POLICY))
    assert runtime.settings.slack_signing_secret
    with LocalServer(wsgi_app(build_app(runtime), runtime)) as server:
        yield BotUnderTest(server.url, runtime.settings.slack_signing_secret, slack, runtime)


def said(bot: BotUnderTest, text: str, user: str, channel: str) -> str:
    reply = bot.command(text, user_id=user, channel_id=channel)
    assert reply.response is not None
    return all_text(reply.response.body)


def test_requests_without_a_valid_signature_do_nothing(bot: BotUnderTest) -> None:
    body = slash_command_body("silence prod-db 1h", bot.slack.response_url("x"))
    assert bot.post(body, {"Content-Type": "application/x-www-form-urlencoded"})[0] == 401
    assert bot.post(body, signed_headers("wrong-secret", body))[0] == 401
    assert (
        bot.post(body, signed_headers(bot.secret, body, timestamp=int(time.time()) - 301))[0] == 401
    )
    tampered = body.replace(b"1h", b"9h")
    assert bot.post(tampered, signed_headers(bot.secret, body))[0] == 401
    time.sleep(0.3)
    assert bot.slack.responses("x") == []
    assert bot.runtime.store.active_silences(bot.runtime.clock()) == {}
    assert bot.runtime.store.recent_audit(10) == []
    # The same request, signed, works: the refusals above were the signature's doing.
    assert bot.post(body, signed_headers(bot.secret, body))[0] == 200
    bot.slack.wait_for(lambda r: r.path == "/response/x")
    assert Address("prod-db") in bot.runtime.store.active_silences(bot.runtime.clock())


def test_reads_only_where_the_cluster_is_allowed(guarded: BotUnderTest, aws: AwsClients) -> None:
    create_cluster(aws.rds(), "prod-db", iam=True, exports=[], instances=1)
    assert "IAM auth metrics · prod-db" in said(guarded, "metrics prod-db", BOB, PROD)
    refused = said(guarded, "metrics prod-db public", BOB, OPS)
    assert refused.endswith("`prod-db` may not be queried from this channel.")
    assert "may not be queried from this channel" in said(
        guarded, "failures other-db", BOB, ELSEWHERE
    )
    assert "Nothing is watched yet" in said(guarded, "watches", BOB, OPS)


def test_changes_need_an_admin_or_an_owner(guarded: BotUnderTest) -> None:
    store = guarded.runtime.store
    refused = said(guarded, "watch prod-db invalid_token>=5/5m", BOB, PROD)
    assert "Only admins and the owners of `prod-db` may change its alerts." in refused
    assert "Only admins" in said(guarded, "silence prod-db 1h", BOB, PROD)
    assert store.list_watches() == []
    assert store.active_silences(guarded.runtime.clock()) == {}
    assert "Now watching" in said(guarded, "watch prod-db invalid_token>=5/5m", ALICE, PROD)
    assert "silenced until" in said(guarded, "silence prod-db 1h", CAROL, PROD)  # via user group
    assert "Stopped watching" in said(guarded, "unwatch prod-db", ADMIN, PROD)
    assert "Only admins" in said(guarded, "watch other-db", ALICE, OPS)  # owns prod-db only


def test_buttons_are_authorised_like_commands(guarded: BotUnderTest) -> None:
    def click(action: str, value: str, user: str, channel: str, name: str) -> str:
        body = block_actions_body(
            action, value, guarded.slack.response_url(name), user_id=user, channel_id=channel
        )
        assert guarded.post(body, signed_headers(guarded.secret, body))[0] == 200
        return all_text(guarded.slack.wait_for(lambda r: r.path == f"/response/{name}").body)

    assert "Only admins" in click(SILENCE_ACTION, "prod-db", BOB, PROD, "b1")
    assert guarded.runtime.store.active_silences(guarded.runtime.clock()) == {}
    assert "silenced until" in click(SILENCE_ACTION, "prod-db", ALICE, PROD, "b2")
    refused = click(
        SHOW_FAILURES_ACTION, '{"cluster": "prod-db", "window": "15m"}', ALICE, OPS, "b3"
    )
    assert "may not be queried from this channel" in refused


def test_every_command_and_click_is_audited(guarded: BotUnderTest) -> None:
    said(guarded, "watch prod-db invalid_token>=5/5m", BOB, PROD)
    said(guarded, "watch prod-db invalid_token>=5/5m", ALICE, PROD)
    guarded.command(
        "watch prod-db invalid_token>5", user_id=ALICE, channel_id=PROD, expect_reply=False
    )
    body = block_actions_body(
        SILENCE_ACTION, "prod-db", guarded.slack.response_url("c"), user_id=ALICE, channel_id=PROD
    )
    guarded.post(body, signed_headers(guarded.secret, body))
    guarded.slack.wait_for(lambda r: r.path == "/response/c")
    assert "Only iamauth admins may do that." in said(guarded, "audit", ALICE, PROD)
    listing = said(guarded, "audit 10", ADMIN, OPS)
    entries = guarded.runtime.store.recent_audit(10)
    assert [(e.user_id, e.outcome) for e in reversed(entries)] == [
        (BOB, "refused"),
        (ALICE, "allowed"),
        (ALICE, "invalid"),
        (ALICE, "allowed"),
        (ALICE, "refused"),
        (ADMIN, "allowed"),
    ]
    assert entries[-1].action == "/iamauth watch prod-db invalid_token>=5/5m"
    assert entries[-1].channel_id == PROD
    assert entries[2].action == f"button {SILENCE_ACTION} prod-db"
    assert "Only admins and the owners" in entries[-1].detail
    assert "*refused*" in listing
    assert "`/iamauth audit`" in listing


def test_audit_in_the_terminal(guarded: BotUnderTest, settings: Settings) -> None:
    said(guarded, "watch prod-db invalid_token>=5/5m", BOB, PROD)
    env = {**os.environ, "DATABASE_URL": settings.database_url}
    env.pop("IAMAUTH_CONFIG", None)
    result = run_iamauth(env, "audit", "-n", "5")
    assert result.returncode == 0, result.stderr
    assert BOB in result.stdout
    assert "refused" in result.stdout
    assert "'/iamauth watch prod-db invalid_token>=5/5m'" in result.stdout


def test_secrets_never_reach_logs_or_replies(
    bot: BotUnderTest,
    aws: AwsClients,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = bot.runtime.settings.slack_bot_token
    assert token
    caplog.set_level(logging.DEBUG)
    create_cluster(aws.rds(), "prod-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    put_failures(
        aws.logs(),
        "prod-db",
        [Failure(bot.runtime.clock() - timedelta(minutes=5), token, "InvalidToken")],
        1,
    )

    def explode(*_: Any) -> Any:
        raise RuntimeError(f"boom with {token} and {bot.secret} inside")

    replies = [bot.command("failures prod-db").response, bot.command("failures ghost-db").response]
    monkeypatch.setattr(bot.runtime.queries, "metrics", explode)
    replies.append(bot.command("metrics prod-db").response)
    texts = [str(r.body) for r in replies if r is not None]
    assert "details are logged" in texts[-1]
    assert "boom" in caplog.text  # the error was logged…
    for secret in (token, bot.secret):
        assert secret not in caplog.text  # …without the secrets
        assert all(secret not in t for t in texts[1:])
    # A database user named like a token is log content, shown as such in the reply it was asked for.
    assert "[redacted]" not in texts[0]


def test_doctor_reports_each_permission(
    aws: AwsClients, slack: SlackStandIn, settings: Settings
) -> None:
    simulator = IamSimulator()
    simulator.install(aws.iam())  # the emulator lacks the simulation
    checks = {c.name: c for c in run_checks(aws, web_client(settings))}
    assert all(c.ok for c in checks.values()), checks
    assert set(checks) == {
        "Slack token", "AWS identity", "rds:DescribeDBClusters", "rds:DescribeDBInstances",
        "logs:FilterLogEvents",
        "logs:FilterLogEvents (postgresql log)", "rds:DescribeDBClusterParameters",
        "cloudwatch:GetMetricData", "logs:StartQuery",
        "iam:SimulatePrincipalPolicy", "iam:GetRole",
        "ec2:DescribeNetworkInterfaces", "ec2:DescribeInstances",
    }  # fmt: skip
    assert checks["ec2:DescribeNetworkInterfaces"].only_for
    assert checks["ec2:DescribeInstances"].only_for
    assert checks["iam:SimulatePrincipalPolicy"].only_for
    assert checks["iam:GetRole"].only_for
    assert simulator.requests[0]["PolicySourceArn"].endswith(":role/iamauth-doctor-probe")
    assert checks["logs:FilterLogEvents (postgresql log)"].only_for
    assert checks["rds:DescribeDBClusterParameters"].only_for
    assert not checks["logs:FilterLogEvents"].only_for

    def deny(**_: Any) -> None:
        from botocore.exceptions import ClientError

        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "FilterLogEvents"
        )

    aws.logs().meta.events.register("before-send.logs.FilterLogEvents", deny)
    slack.replies["auth.test"] = lambda _: (200, {"ok": False, "error": "invalid_auth"}, {})
    checks = {c.name: c for c in run_checks(aws, web_client(settings))}
    assert not checks["logs:FilterLogEvents"].ok
    assert "add it to the bot's IAM policy" in checks["logs:FilterLogEvents"].detail
    assert not checks["Slack token"].ok
    assert checks["rds:DescribeDBClusters"].ok


def test_doctor_command(moto_endpoint: str, slack: SlackStandIn, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": slack.api_url,
    }
    result = run_iamauth(env, "doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok  logs:FilterLogEvents" in result.stdout
    # The emulator does not implement iam:SimulatePrincipalPolicy: optional, said so, exit 0.
    assert "NO  iam:SimulatePrincipalPolicy" in result.stdout
    assert "ok  iam:GetRole" in result.stdout
    assert result.stdout.strip().endswith(
        "Optional, missing: iam:SimulatePrincipalPolicy; everything else works without them."
    )


def test_doctor_names_the_slack_scopes_the_token_lacks(
    aws: AwsClients, slack: SlackStandIn, settings: Settings
) -> None:
    """Slack lists a token's scopes in the `x-oauth-scopes` header of every answer."""
    granted = "commands,chat:write,channels:history,groups:history,usergroups:read"
    slack.replies["auth.test"] = lambda _: (
        200,
        {"ok": True, "user_id": "U0BOT00001", "team_id": "T0TEAM0001"},
        {"x-oauth-scopes": granted},
    )
    scopes = {c.name: c for c in run_checks(aws, web_client(settings))}["Slack scopes"]
    assert not scopes.ok
    assert "files:write (charts)" in scopes.detail
    assert "chat:write" not in scopes.detail

    slack.replies["auth.test"] = lambda _: (
        200,
        {"ok": True, "user_id": "U0BOT00001", "team_id": "T0TEAM0001"},
        {"x-oauth-scopes": granted + ",files:write,users:read"},
    )
    assert {c.name: c for c in run_checks(aws, web_client(settings))}["Slack scopes"].ok


def test_lists_show_only_the_clusters_that_may_be_read_in_the_channel(
    guarded: BotUnderTest, aws: AwsClients
) -> None:
    store, now = guarded.runtime.store, guarded.runtime.clock()
    for cluster in ("prod-db", "other-db"):
        create_cluster(aws.rds(), cluster, iam=True, exports=[], instances=1)
    assert "Now watching" in said(guarded, "watch prod-db", ADMIN, PROD)
    assert "Now watching" in said(guarded, "watch other-db", ADMIN, OPS)
    said(guarded, "silence 123456789012/us-east-1/prod-db 2h restricted reason", ADMIN, PROD)
    assert set(map(str, store.active_silences(now))) == {"123456789012/us-east-1/prod-db"}

    in_ops = said(guarded, "watches", BOB, OPS)
    assert "`other-db` → <#C0OPS00001>" in in_ops
    assert "prod-db" not in in_ops
    assert "restricted reason" not in in_ops
    assert (
        "Clusters that may not be queried in this channel are left out (2 watches or silences)."
        in in_ops
    )
    in_prod = said(guarded, "watches", BOB, PROD)
    assert "`prod-db` → <#C0PROD0001>" in in_prod
    assert "restricted reason" in in_prod
    assert "other-db" not in in_prod

    clusters_in_ops = said(guarded, "clusters", BOB, OPS)
    assert "other-db" in clusters_in_ops
    assert "prod-db" not in clusters_in_ops
    assert "are left out (1 cluster)." in clusters_in_ops
    assert "prod-db" in said(guarded, "clusters", BOB, PROD)
    # Where no cluster may be read, there is nothing to list.
    assert said(guarded, "watches", BOB, ELSEWHERE).endswith(
        "iamauth may not be queried from this channel."
    )


def test_a_cluster_may_be_read_by_its_address_only_where_its_name_may(
    guarded: BotUnderTest, aws: AwsClients
) -> None:
    create_cluster(aws.rds(), "prod-db", iam=True, exports=[], instances=1)
    address = "123456789012/us-east-1/prod-db"
    assert said(guarded, f"metrics {address}", BOB, OPS).endswith(
        f"`{address}` may not be queried from this channel."
    )
    body = block_actions_body(
        SHOW_FAILURES_ACTION,
        json.dumps({"cluster": address, "window": "15m"}),
        guarded.slack.response_url("b1"),
        user_id=ALICE,
        channel_id=OPS,
    )
    assert guarded.post(body, signed_headers(guarded.secret, body))[0] == 200
    refused = all_text(guarded.slack.wait_for(lambda r: r.path == "/response/b1").body)
    assert refused.endswith(f"`{address}` may not be queried from this channel.")
    assert "IAM auth metrics · prod-db" in said(guarded, f"metrics {address}", BOB, PROD)


def test_a_watch_may_send_a_cluster_only_where_it_may_be_read(guarded: BotUnderTest) -> None:
    store = guarded.runtime.store
    for user in (ALICE, ADMIN):
        refused = said(guarded, f"watch prod-db <#{OPS}|ops>", user, PROD)
        assert refused.endswith(
            f"`prod-db` may not be queried in the channel `{OPS}`, so its alerts may not be sent "
            "there."
        )
    refused = said(guarded, "watch 123456789012/us-east-1/prod-db", ALICE, OPS)
    assert "may not be queried in the channel `C0OPS00001`" in refused
    assert store.list_watches() == []
    assert [e.outcome for e in store.recent_audit(3)] == ["refused"] * 3
    assert "Now watching" in said(guarded, f"watch prod-db <#{PROD}|prod>", ALICE, OPS)
    assert [(str(w.cluster), w.channel) for w in store.list_watches()] == [("prod-db", PROD)]


@pytest.fixture
def rationed(runtime: Runtime, slack: SlackStandIn) -> Iterator[BotUnderTest]:
    """The bot with a budget of 2 AWS-reading commands per person per hour."""
    runtime = replace(
        runtime, settings=replace(runtime.settings, user_rate=UserRate(2, timedelta(hours=1)))
    )
    assert runtime.settings.slack_signing_secret
    with LocalServer(wsgi_app(build_app(runtime), runtime)) as server:
        yield BotUnderTest(server.url, runtime.settings.slack_signing_secret, slack, runtime)


def test_each_person_may_send_so_many_aws_reading_commands(
    rationed: BotUnderTest, aws: AwsClients
) -> None:
    create_cluster(aws.rds(), "prod-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    aws_calls: list[str] = []
    aws.rds().meta.events.register(
        "before-send.rds.DescribeDBClusters", lambda **_: aws_calls.append("rds")
    )
    assert "IAM auth failures · prod-db" in said(rationed, "failures prod-db 1h", BOB, OPS)
    assert "IAM auth metrics · prod-db" in said(rationed, "metrics prod-db 2h", BOB, OPS)
    calls = len(aws_calls)
    now = rationed.runtime.clock()
    limited = said(rationed, "failures prod-db 3h", BOB, OPS)
    assert limited.endswith(
        "You have sent 2 commands that read AWS within 1h, the most one person may: try again in "
        f"60 min (after {now + timedelta(hours=1):%H:%M} UTC)."
    )
    body = block_actions_body(
        SHOW_FAILURES_ACTION,
        json.dumps({"cluster": "prod-db", "window": "15m"}),
        rationed.slack.response_url("b1"),
        user_id=BOB,
        channel_id=OPS,
    )
    assert rationed.post(body, signed_headers(rationed.secret, body))[0] == 200
    clicked = all_text(rationed.slack.wait_for(lambda r: r.path == "/response/b1").body)
    assert "You have sent 2 commands that read AWS" in clicked
    assert len(aws_calls) == calls  # the limited ones reached no AWS API
    # Commands that read no AWS, and other people, are not held back.
    assert "Nothing is watched yet" in said(rationed, "watches", BOB, OPS)
    assert "IAM auth failures · prod-db" in said(rationed, "failures prod-db 3h", ALICE, OPS)
    entries = rationed.runtime.store.recent_audit(5)
    assert [(e.user_id, e.outcome) for e in reversed(entries)] == [
        (BOB, "allowed"),
        (BOB, "limited"),
        (BOB, "limited"),
        (BOB, "allowed"),
        (ALICE, "allowed"),
    ]
    assert entries[2].action == f"button {SHOW_FAILURES_ACTION} " + json.dumps(
        {"cluster": "prod-db", "window": "15m"}
    )
