"""Signed slash commands over HTTP to the real Bolt app; replies read from the Slack stand-in."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.adapters.aws.clients import AwsClients
from bot.sandbox.seed_aws import Failure, create_cluster, put_failures, put_lines, put_metrics
from bot.sandbox.slack_signing import signed_headers, slash_command_body
from tests.conftest import BotUnderTest

CALLER = "arn:aws:sts::123456789012:assumed-role/reporting-role/job"


def all_text(message: dict[str, Any]) -> str:
    parts = [str(message.get("text", ""))]
    for block in message.get("blocks", []):
        if "text" in block:
            parts.append(block["text"]["text"])
        parts.extend(e.get("text", "") for e in block.get("elements", []))
    return "\n".join(parts)


@pytest.fixture
def prod_db(aws: AwsClients, now: datetime) -> list[Failure]:
    """prod-db: 7 failures in the last hour (one hostile user), 2 older ones, 1 unreadable line."""
    create_cluster(aws.rds(), "prod-db", iam=True, exports=["iam-db-auth-error"])
    recent = [
        Failure(now - timedelta(minutes=50), "app", "InvalidToken"),
        Failure(now - timedelta(minutes=40), "app", "ExpiredToken"),
        Failure(now - timedelta(minutes=39), "app", "ExpiredToken"),
        Failure(now - timedelta(minutes=30), "reporting", "NotAuthorized", CALLER),
        Failure(now - timedelta(minutes=20), "reporting", "NotAuthorized", CALLER),
        Failure(now - timedelta(minutes=10), "<!channel>", "InvalidToken"),
        Failure(now - timedelta(minutes=5), "app", "BrandNewCode"),
    ]
    older = [Failure(now - timedelta(hours=3), "old", "InvalidToken")] * 2
    failures = older + recent
    put_failures(aws.logs(), "prod-db", failures)
    put_lines(
        aws.logs(),
        "/aws/rds/cluster/prod-db/iam-db-auth-error",
        "junk",
        [(now - timedelta(minutes=1), "not a log line")],
    )
    put_metrics(aws.cloudwatch(), "prod-db", failures, 10, now - timedelta(hours=4), now)
    return recent


def test_failures_are_counted_exactly_and_escaped(
    bot: BotUnderTest, prod_db: list[Failure]
) -> None:
    reply = bot.command("failures prod-db 1h")
    assert reply.status == 200
    assert reply.ack is None  # empty ack: the answer comes through response_url
    assert reply.response is not None
    body = reply.response.body
    assert body["response_type"] == "ephemeral"
    text = all_text(body)
    assert body["text"].startswith("prod-db: 7 IAM auth failures in ")
    assert "*7 failed IAM authentications*" in text
    assert "`ExpiredToken` (InvalidToken): *2*" in text
    assert "`InvalidToken` (InvalidToken): *2*" in text
    assert "`NotAuthorized` (InsufficientPermissions): *2*" in text
    assert "`BrandNewCode` (Other): *1*" in text
    assert "`app`: *4*" in text
    assert "`reporting`: *2*" in text
    assert f"`{CALLER}`: *2*" in text
    assert "Unreadable lines (kept and counted, not dropped): 1" in text
    # The hostile name is shown, but can never ping the channel.
    assert "`&lt;!channel&gt;`: *1*" in text
    assert "<!channel>" not in json.dumps(body)
    assert "(1h)" in text
    # Metrics (per minute; only the four families have metrics, BrandNewCode has none).
    assert "*CloudWatch metrics*: 6 failures of " in text


def test_public_answers_in_the_channel(bot: BotUnderTest, prod_db: list[Failure]) -> None:
    reply = bot.command("failures prod-db public")
    assert reply.response is not None
    assert reply.response.body["response_type"] == "in_channel"


def test_the_ack_does_not_wait_for_aws(
    bot: BotUnderTest, prod_db: list[Failure], aws: AwsClients
) -> None:
    """With AWS slowed down to 2 s per call, the HTTP ack still comes at once."""

    def slow(**_: Any) -> None:
        time.sleep(2)

    aws.rds().meta.events.register("before-send.rds.DescribeDBClusters", slow)
    reply = bot.command("failures prod-db 1h")
    assert reply.status == 200
    assert reply.ack_seconds < 1.5
    assert reply.response is not None
    assert "*7 failed IAM authentications*" in all_text(reply.response.body)


def test_metrics_command(bot: BotUnderTest, prod_db: list[Failure]) -> None:
    reply = bot.command("metrics prod-db 1h")
    assert reply.response is not None
    text = all_text(reply.response.body)
    # 10 successes a minute for 60 minutes plus the 6 failures the metrics count.
    assert reply.response.body["text"] == "prod-db: 606 IAM auth requests, 6 failed"
    assert "by `DBClusterIdentifier`" in text


def test_log_export_off_says_how_to_turn_it_on_and_still_shows_metrics(
    bot: BotUnderTest, aws: AwsClients, now: datetime
) -> None:
    create_cluster(aws.rds(), "orders-db", iam=True, exports=[], instances=1)
    failures = [Failure(now - timedelta(minutes=m), "svc", "NotAuthorized") for m in (3, 4, 5)]
    put_metrics(aws.cloudwatch(), "orders-db", failures, 1, now - timedelta(hours=1), now)
    reply = bot.command("failures orders-db")
    assert reply.response is not None
    text = all_text(reply.response.body)
    assert "log export is *off*" in text
    assert "--apply-immediately" in text
    assert "*no reboot*" in text
    assert "*CloudWatch metrics*: 3 failures of 63 requests" in text


def test_no_log_group_yet_means_no_failures(bot: BotUnderTest, aws: AwsClients) -> None:
    create_cluster(aws.rds(), "quiet-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    reply = bot.command("failures quiet-db 15m")
    assert reply.response is not None
    assert "*No failures are logged.*" in all_text(reply.response.body)


def test_iam_auth_disabled_is_said(bot: BotUnderTest, aws: AwsClients) -> None:
    create_cluster(aws.rds(), "legacy-db", iam=False, exports=[], instances=1)
    reply = bot.command("metrics legacy-db")
    assert reply.response is not None
    assert "IAM database authentication is *not enabled*" in all_text(reply.response.body)


def test_unknown_cluster(bot: BotUnderTest, aws: AwsClients) -> None:
    reply = bot.command("failures ghost-db")
    assert reply.response is not None
    assert "There is no Aurora cluster or RDS DB instance `ghost-db`" in all_text(
        reply.response.body
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("failures", "Which cluster?"),
        ("failures prod--db", "is not an RDS cluster identifier"),
        ("failures prod-db 3w", "is not a window"),
        ("failures prod-db 30d", "at most `14d`"),
        ("metrics prod-db 1h extra", "Too many words"),
    ],
)
def test_bad_input_is_answered_in_the_ack_and_reaches_no_one_else(
    bot: BotUnderTest, text: str, expected: str
) -> None:
    reply = bot.command(text, expect_reply=False)
    assert reply.status == 200
    assert reply.ack is not None
    assert expected in all_text(reply.ack)
    assert reply.ack.get("response_type") in (None, "ephemeral")
    time.sleep(0.2)
    assert not [r for r in bot.slack.requests if r.path.startswith("/response/")]


@pytest.mark.parametrize("text", ["", "help", "frobnicate <!channel>"])
def test_help_and_unknown_subcommands(bot: BotUnderTest, text: str) -> None:
    reply = bot.command(text, expect_reply=False)
    assert reply.ack is not None
    message = all_text(reply.ack)
    assert "/iamauth failures <cluster> [window]" in message.replace("&lt;", "<").replace(
        "&gt;", ">"
    )
    if "frobnicate" in text:
        assert "`frobnicate` is not an iamauth command." in message


def test_unsigned_or_badly_signed_requests_are_refused(bot: BotUnderTest) -> None:
    body = slash_command_body("help", bot.slack.response_url("x"))
    assert bot.post(body, {"Content-Type": "application/x-www-form-urlencoded"})[0] == 401
    assert bot.post(body, signed_headers("wrong-secret", body))[0] == 401
    stale = signed_headers(bot.secret, body, timestamp=int(time.time()) - 600)
    assert bot.post(body, stale)[0] == 401


def test_healthz(bot: BotUnderTest) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{bot.url}/healthz", timeout=5) as response:
        assert json.loads(response.read())["ok"] is True


def test_more_than_ten_thousand_events_over_several_streams_are_all_counted(
    bot: BotUnderTest, aws: AwsClients, now: datetime
) -> None:
    create_cluster(aws.rds(), "busy-db", iam=True, exports=["iam-db-auth-error"], instances=3)
    failures = [
        Failure(
            now - timedelta(minutes=55) + timedelta(milliseconds=250 * i),
            f"svc{i % 4}",
            "ExpiredToken",
        )
        for i in range(12_345)
    ]
    put_failures(aws.logs(), "busy-db", failures, streams=3)
    reply = bot.command("failures busy-db 1h")
    assert reply.response is not None
    text = all_text(reply.response.body)
    assert "*12,345 failed IAM authentications*" in text
    assert "`ExpiredToken` (InvalidToken): *12,345*" in text
    assert "`svc0`: *3,087*" in text
    assert "truncated" not in text


def test_the_event_cap_keeps_the_newest_events_and_says_so(aws: AwsClients, now: datetime) -> None:
    from bot.services.queries import QueryService
    from bot.views.failures import failures_message

    create_cluster(aws.rds(), "busy-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    # One failure a minute, 10.5 to 59.5 minutes ago: the newest 20 are all from "new_svc".
    failures = [
        Failure(
            now - timedelta(minutes=10 + i, seconds=30),
            "new_svc" if i < 20 else "old_svc",
            "InvalidToken",
        )
        for i in range(50)
    ]
    put_failures(aws.logs(), "busy-db", failures, streams=2)
    put_metrics(aws.cloudwatch(), "busy-db", failures, 0, now - timedelta(hours=1), now)
    service = QueryService(aws, event_cap=20, clock=lambda: now)
    report = service.failures("busy-db", timedelta(hours=1))
    summary = report.summary
    assert summary is not None
    assert summary.truncated
    assert summary.total == 20
    assert summary.top_users(5) == [("new_svc", 20)]
    assert summary.covered_from == now - timedelta(minutes=29, seconds=30)  # the oldest kept
    assert summary.last_seen == now - timedelta(minutes=10, seconds=30)
    text = all_text(failures_message(report).to_dict())
    assert "The log part is truncated: it covers only the newest 20 events of the window" in text
    assert "*CloudWatch metrics*: 50 failures" in text
