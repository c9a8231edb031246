"""The fix that fits, through the real Bolt app over HTTP (signed slash command, moto's logs): a
burst of 103 ExpiredToken and 4 InvalidToken opens with the ExpiredToken fix, naming the client
whose failures are all ExpiredToken, where tokens are being reused."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.adapters.aws.clients import AwsClients
from bot.sandbox.seed_aws import Failure, create_cluster, put_failures, put_metrics
from bot.sandbox.seed_postgresql_log import Client, engine_time, pam_lines, put_postgresql_lines
from tests.conftest import BotUnderTest
from tests.integration.test_slash_commands import all_text

REUSING = "10.0.2.8"  # only ExpiredToken from here
MIXED = "10.0.1.70"  # an ExpiredToken and the InvalidToken failures


def seed(aws: AwsClients, now: datetime) -> None:
    create_cluster(
        aws.rds(), "prod-db", iam=True, exports=["iam-db-auth-error", "postgresql"], instances=1
    )
    start = now - timedelta(minutes=40)
    rows = [
        (
            start + timedelta(seconds=10 * i, milliseconds=300),
            "checkout_svc",
            "ExpiredToken",
            REUSING,
        )
        for i in range(102)
    ]
    rows.append((start + timedelta(seconds=1030, milliseconds=300), "app", "ExpiredToken", MIXED))
    rows += [
        (start + timedelta(seconds=1100 + 10 * i, milliseconds=300), "app", "InvalidToken", MIXED)
        for i in range(4)
    ]
    failures = [Failure(at, user, code) for at, user, code, _ in rows]
    put_failures(aws.logs(), "prod-db", failures)
    put_metrics(aws.cloudwatch(), "prod-db", failures, 1, now - timedelta(hours=2), now)
    lines: list[tuple[datetime, str]] = []
    for n, (at, user, _, address) in enumerate(rows):
        stamp = engine_time(at)
        client = Client(address, 40000 + n, "orders", 3000 + n)
        lines.extend((stamp, line) for line in pam_lines(stamp, user, client))
    put_postgresql_lines(aws.logs(), "prod-db", "prod-db-1", lines)


def test_the_first_fix_is_the_dominant_codes_with_where_tokens_are_reused(
    bot: BotUnderTest, aws: AwsClients, now: datetime
) -> None:
    seed(aws, now)
    reply = bot.command("failures prod-db 1h clients")
    assert reply.response is not None
    body = reply.response.body
    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    first = sections[0]
    assert first.startswith(
        "*What to fix first*\n103 `ExpiredToken`: the token is older than 15 minutes"
    )
    assert f"Tokens are being reused at `{REUSING}` ×102" in first
    assert MIXED not in first  # it also fails with InvalidToken: not plain reuse
    assert "(users `checkout_svc`)" in first
    assert first.endswith("\nThen: 4 `InvalidToken`.")
    fixes = [line for line in all_text(body).split("\n") if line.startswith("_Fix:_ ")]
    assert fixes[0].startswith("_Fix:_ The token is older than 15 minutes")
    assert fixes[1].startswith("_Fix:_ The token was generated for another host")
