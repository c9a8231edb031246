"""Charts reaching Slack through files_upload_v2: under `/iamauth metrics`, in digest threads, and
from `iamauth metrics --png`; a failed upload never costs the answer or the digest."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.aws.clients import AwsClients
from bot.adapters.slack.outbox_delivery import Deliverer
from bot.adapters.slack.web_client import web_client
from bot.bootstrap import Runtime, digest_pipeline
from bot.domain.chart_spec import CHART_SPAN, DigestChart
from bot.domain.records import Family
from bot.sandbox.seed_aws import Failure, create_cluster, put_metrics
from bot.sandbox.slack_standin import Recorded, SlackStandIn
from tests.chart_checks import assert_chart
from tests.conftest import BotUnderTest
from tests.integration.digest_helpers import INVALID, put_per_minute
from tests.integration.test_cli import iamauth
from tests.integration.test_digests import C1, invalid_token_watch
from tests.integration.test_slash_commands import all_text

CHANNEL = "C0CHARTS01"
UPLOAD_METHODS = ["files.getUploadURLExternal", "/upload/", "files.completeUploadExternal"]


def answer_error(error: str) -> Any:
    return lambda _: (200, {"ok": False, "error": error}, {})


def upload_steps(slack: SlackStandIn) -> list[str]:
    def step(r: Recorded) -> str:
        return "/upload/" if r.path.startswith("/upload/") else r.method

    return [step(r) for r in slack.requests if step(r) in UPLOAD_METHODS]


@pytest.fixture
def prod_db(aws: AwsClients, now: datetime) -> list[Failure]:
    create_cluster(aws.rds(), "prod-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    codes = ["InvalidToken", "ExpiredToken", "NotAuthorized", "ThrottlingException"]
    failures = [
        Failure(now - timedelta(minutes=7 * i + 1), "app", codes[i % len(codes)]) for i in range(30)
    ]
    put_metrics(aws.cloudwatch(), "prod-db", failures, 20, now - timedelta(hours=4), now)
    return failures


def test_metrics_command_posts_its_chart_in_the_channel(
    bot: BotUnderTest, slack: SlackStandIn, prod_db: list[Failure]
) -> None:
    reply = bot.command("metrics prod-db 24h", channel_id=CHANNEL)
    assert reply.response is not None
    assert "IAM auth metrics · prod-db" in all_text(reply.response.body)
    assert "Chart not posted" not in all_text(reply.response.body)
    assert "Chart posted in this channel." in all_text(reply.response.body)
    (chart,) = slack.uploaded()
    assert chart.channel == CHANNEL
    assert chart.thread_ts is None
    assert chart.filename.startswith("iamauth-metrics-prod-db-")
    assert chart.filename.endswith(".png")
    assert "prod-db" in chart.title
    assert chart.length == len(chart.data)  # what getUploadURLExternal was told is what came
    assert "requests" in chart.alt_txt
    assert_chart(chart.data, 1200, 600)
    # slack_sdk's three steps, in order, before the answer was sent.
    assert upload_steps(slack) == UPLOAD_METHODS


def test_upload_refused_keeps_the_answer_and_says_why(
    bot: BotUnderTest, slack: SlackStandIn, prod_db: list[Failure]
) -> None:
    slack.replies["files.completeUploadExternal"] = answer_error("not_in_channel")
    reply = bot.command("metrics prod-db 24h", channel_id=CHANNEL)
    assert reply.response is not None
    text = all_text(reply.response.body)
    assert "IAM auth metrics · prod-db" in text
    assert "requests*" in text  # the numbers are all there
    assert "Chart not posted: the bot is not in this channel" in text
    assert slack.uploaded() == []


def test_upload_url_failing_keeps_the_answer(
    bot: BotUnderTest, slack: SlackStandIn, prod_db: list[Failure]
) -> None:
    """The bytes' POST answered 500: slack_sdk raises, the answer still comes."""
    slack.replies["/upload/F000000001"] = lambda _: (500, {"ok": False}, {})
    reply = bot.command("metrics prod-db 1h", channel_id=CHANNEL)
    assert reply.response is not None
    text = all_text(reply.response.body)
    assert "Chart not posted: the upload to Slack failed" in text
    assert "files.completeUploadExternal" not in upload_steps(slack)


def test_no_chart_for_a_cluster_without_data(
    bot: BotUnderTest, slack: SlackStandIn, aws: AwsClients
) -> None:
    create_cluster(aws.rds(), "quiet-db", iam=True, exports=[], instances=1)
    reply = bot.command("metrics quiet-db 1h", channel_id=CHANNEL)
    assert reply.response is not None
    assert "no data points" in all_text(reply.response.body)
    assert upload_steps(slack) == []


@pytest.fixture
def deliverer(runtime: Runtime) -> Deliverer:
    return runtime.deliverer(web_client(runtime.settings))


def burst(aws: AwsClients, now: datetime) -> dict[int, float]:
    """Two InvalidToken failures a minute for an hour, then nine a minute: a breach of 10 in 5m."""
    per_minute = {m: 2.0 for m in range(-70, -8)} | {m: 9.0 for m in range(-8, 1)}
    put_per_minute(aws, "prod-db", INVALID, now, per_minute)
    return per_minute


def test_firing_digest_gets_its_chart_in_its_thread(
    aws: AwsClients, runtime: Runtime, deliverer: Deliverer, slack: SlackStandIn, now: datetime
) -> None:
    per_minute = burst(aws, now)
    runner = digest_pipeline(aws, runtime.store, [invalid_token_watch()], clock=runtime.clock)
    result = runner.tick(now + timedelta(minutes=3))
    ((_, notice),) = result.notices
    assert deliverer.deliver_pending() == 1

    (row,) = runtime.store.outbox()
    assert row.chart is not None
    spec = DigestChart.from_json(row.chart)
    assert (str(spec.cluster), spec.family, spec.threshold) == ("prod-db", Family.INVALID_TOKEN, 10)
    assert len(spec.counts) == CHART_SPAN / timedelta(minutes=1)
    assert spec.counts[-1] == notice.count  # the chart ends on what the alert saw
    # An hour back the rolling 5-minute count is 5 × 2: fetched once, in the tick, from moto.
    assert spec.counts[0] == 5 * per_minute[-60]

    (posted,) = slack.messages[C1]
    (chart,) = slack.uploaded(C1)
    assert chart.thread_ts == posted["ts"]
    assert chart.title.startswith("prod-db · InvalidToken")
    assert_chart(chart.data, 900, 360)


def test_a_digest_of_several_breaches_charts_the_hardest_one(
    aws: AwsClients, runtime: Runtime, slack: SlackStandIn, now: datetime
) -> None:
    put_per_minute(aws, "alpha-db", INVALID, now, {m: 3.0 for m in range(-10, 1)})  # 15 / 10
    put_per_minute(aws, "beta-db", INVALID, now, {m: 8.0 for m in range(-10, 1)})  # 40 / 10
    watches = [invalid_token_watch("alpha-db"), invalid_token_watch("beta-db")]
    digest_pipeline(aws, runtime.store, watches, clock=runtime.clock).tick(
        now + timedelta(minutes=3)
    )
    (row,) = runtime.store.outbox()
    assert row.chart is not None
    chart = DigestChart.from_json(row.chart)
    assert (str(chart.cluster), chart.counts[-1]) == ("beta-db", 5 * 8)


def test_resolved_digest_has_no_chart(
    aws: AwsClients, runtime: Runtime, deliverer: Deliverer, slack: SlackStandIn, now: datetime
) -> None:
    burst(aws, now)
    runner = digest_pipeline(aws, runtime.store, [invalid_token_watch()], clock=runtime.clock)
    runner.tick(now + timedelta(minutes=3))
    runner.tick(now + timedelta(minutes=20))  # no points after `now`: resolved
    assert deliverer.deliver_pending() == 3  # the digest; then edited, and replied to, resolved
    firing, edit, resolved = runtime.store.outbox()
    assert [r.kind for r in (firing, edit, resolved)] == ["post", "update", "reply"]
    assert firing.chart is not None
    assert edit.chart is None
    assert resolved.chart is None
    assert len(slack.uploaded(C1)) == 1


def test_failed_chart_upload_never_touches_the_digest(
    aws: AwsClients, runtime: Runtime, deliverer: Deliverer, slack: SlackStandIn, now: datetime
) -> None:
    slack.replies["files.completeUploadExternal"] = answer_error("not_in_channel")
    burst(aws, now)
    runner = digest_pipeline(aws, runtime.store, [invalid_token_watch()], clock=runtime.clock)
    runner.tick(now + timedelta(minutes=3))
    assert deliverer.deliver_pending() == 1
    assert deliverer.deliver_pending() == 0
    (row,) = runtime.store.outbox()
    assert (row.status, row.last_error) == ("sent", None)
    assert len(slack.posted(C1)) == 1
    assert slack.uploaded() == []


def test_cli_writes_the_chart(moto_endpoint: str, prod_db: list[Failure], tmp_path: Path) -> None:
    target = tmp_path / "prod-db.png"
    result = iamauth(moto_endpoint, "metrics", "prod-db", "--since", "6h", "--png", str(target))
    assert result.returncode == 0, result.stderr
    assert f"Chart written to {target}" in result.stdout
    assert_chart(target.read_bytes(), 1200, 600)


def test_cli_says_when_the_chart_cannot_be_written(
    moto_endpoint: str, prod_db: list[Failure], tmp_path: Path
) -> None:
    target = tmp_path / "no-such-dir" / "chart.png"
    result = iamauth(moto_endpoint, "metrics", "prod-db", "--json", "--png", str(target))
    assert result.returncode == 2
    assert f"cannot write the chart to {target}" in result.stderr
    assert not target.exists()
