"""`iamauth demo`: the real bot against an embedded AWS emulator and a local Slack stand-in.

Needs no AWS and no Slack account. moto's server runs in this process on a free local port and is
seeded with a realistic day; signed slash commands go over HTTP to the real Bolt app, which answers
through `response_url` to the stand-in; the demo prints what Slack would show.
"""

from __future__ import annotations

import difflib
import json
import random
import secrets
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.adapters.aws.clients import AwsClients, AwsSettings
from bot.bootstrap import Runtime, build_app, wsgi_app
from bot.config import Settings
from bot.domain.address import Address
from bot.domain.cluster import INSTANCE, iam_log_group
from bot.domain.metrics import CLUSTER_DIMENSION, INSTANCE_DIMENSION
from bot.domain.watches import DEFAULT_THRESHOLDS, make_watch
from bot.sandbox.aws_emulator import REGION, embedded_aws
from bot.sandbox.iam_simulator import demo_refused_role
from bot.sandbox.local_server import LocalServer
from bot.sandbox.seed_aws import (
    Failure,
    create_cluster,
    create_instance,
    demo_failures,
    instance_demo_failures,
    put_failures,
    put_lines,
    put_metrics,
)
from bot.sandbox.seed_postgresql_log import put_postgresql_failures
from bot.sandbox.seed_workloads import DEMO_WORKLOADS, seed_workloads
from bot.sandbox.slack_signing import (
    app_home_opened_body,
    block_actions_body,
    signed_headers,
    slash_command_body,
)
from bot.sandbox.slack_standin import Recorded, SlackStandIn, UploadedFile
from bot.views.digest import ACKNOWLEDGE_ACTION
from bot.views.terminal import render_blocks, render_message

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

COMMANDS = (
    "watches",
    "failures prod-db 24h",
    "failures prod-db 1h clients",
    "metrics prod-db 24h",
    "failures orders-db 6h",
    "logs orders-db",
    "enable-logs orders-db",
    "metrics legacy-db 1h",
    "failures no-such-db",
    "failures prod-db 3 weeks",
    "failures billing-pg 24h",
    "clusters",
)


def seed(aws: AwsClients, now: datetime) -> None:
    rng = random.Random(20251125)
    rds, logs, cloudwatch = aws.rds(), aws.logs(), aws.cloudwatch()
    create_cluster(rds, "prod-db", iam=True, exports=["iam-db-auth-error", "postgresql"])
    failures = demo_failures(now, rng)
    put_failures(logs, "prod-db", failures)
    # The engine's own log of the same failures: client addresses and databases to match.
    put_postgresql_failures(logs, "prod-db", failures, random.Random(20251126))
    # What some of those client addresses are: EC2 instances, an ECS task, a Lambda function.
    seed_workloads(aws.ec2(), DEMO_WORKLOADS, REGION)
    garbled_at = now - timedelta(minutes=30)
    put_lines(
        logs,
        iam_log_group("prod-db"),
        "prod-db-garbled",
        # A line cut short (as a log shipper may leave one): kept and counted, never dropped.
        [(garbled_at, f"{garbled_at:%Y-%m-%dT%H:%M:%S},804 [ERROR] truncated line with no")],
    )
    _put_day_of_metrics(cloudwatch, "prod-db", failures, 40, now)
    # orders-db: IAM auth on, log export off; only the metrics know about its failures.
    create_cluster(rds, "orders-db", iam=True, exports=["postgresql"], instances=1)
    orders = [
        f
        for f in demo_failures(now, random.Random(7))
        if f.code in {"NotAuthorized", "InvalidToken"} and rng.random() < 0.3
    ]
    _put_day_of_metrics(cloudwatch, "orders-db", orders, 12, now)
    create_cluster(rds, "legacy-db", iam=False, exports=[], instances=1)
    # billing-pg: RDS for PostgreSQL, no Aurora cluster; its log group is under /aws/rds/instance/
    # and its metrics carry DBInstanceIdentifier only.
    create_instance(rds, "billing-pg", iam=True, exports=["iam-db-auth-error", "postgresql"])
    billing = instance_demo_failures(now, random.Random(20251127))
    put_failures(logs, "billing-pg", billing, kind=INSTANCE)
    _put_day_of_metrics(cloudwatch, "billing-pg", billing, 25, now, INSTANCE_DIMENSION)


def _put_day_of_metrics(
    cloudwatch: CloudWatchClient,
    cluster: str,
    failures: list[Failure],
    per_minute: int,
    now: datetime,
    dimension: str = CLUSTER_DIMENSION,
) -> None:
    # One point a minute for the last two hours (as RDS publishes), five-minute points before.
    recent = (now - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    start = recent - timedelta(hours=22)
    put_metrics(
        cloudwatch,
        cluster,
        failures,
        per_minute,
        start,
        recent,
        step_minutes=5,
        dimension=dimension,
    )
    put_metrics(cloudwatch, cluster, failures, per_minute, recent, now, dimension=dimension)


def run_demo() -> int:
    with embedded_aws() as endpoint, SlackStandIn() as slack, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            slack_bot_token="xoxb-demo-not-a-real-token",
            slack_signing_secret=secrets.token_hex(16),
            slack_api_url=slack.api_url,
            aws=AwsSettings(region=REGION, endpoint_url=endpoint),
            database_url=f"sqlite:///{tmp}/iamauth-demo.db",
            watches=(DEMO_WATCH,),
        )
        runtime = Runtime.build(settings)
        now = datetime.now(UTC)
        print(
            f"Seeding an embedded AWS emulator at {endpoint} with three Aurora clusters and an "
            "RDS DB instance…"
        )
        started = time.monotonic()
        seed(runtime.aws, now)
        # The refused caller's role, and IAM's simulation of it (the emulator has none): the
        # NotAuthorized answer shows the exact ARN, the simulated decision and the statement.
        undo_simulation = demo_refused_role(runtime.aws)
        print(
            f"…done in {time.monotonic() - started:.1f}s: prod-db (log export on), "
            "orders-db (log export off), legacy-db (IAM auth off), billing-pg (RDS for "
            "PostgreSQL DB instance, log export on)."
        )
        app = build_app(runtime)
        # Kept after the demo ends, so the charts it posted can be opened.
        charts = Path(tempfile.mkdtemp(prefix="iamauth-demo-charts-"))
        with LocalServer(wsgi_app(app, runtime)) as web:
            for n, text in enumerate(COMMANDS):
                uploaded = len(slack.uploaded())
                _ask(web.url, slack, settings, text, f"demo{n}")
                _save_charts(slack.uploaded()[uploaded:], charts)
            _digests(runtime, slack, settings, web.url, now, charts)
            _own_metrics(web.url)
        undo_simulation()
    print(
        "\nThat was the real Bolt app over HTTP and the real digest tick; run `iamauth web` or "
        "`iamauth run` with your own Slack app and AWS account to use it for real."
    )
    return 0


DEMO_CHANNEL = "C0DEMOALERT"
DEMO_WATCH = make_watch(
    Address("prod-db"),
    DEMO_CHANNEL,
    list(DEFAULT_THRESHOLDS),
    repeat=timedelta(hours=4),
    source="config",
)


def _save_charts(files: list[UploadedFile], folder: Path) -> None:
    """Write the PNGs the bot uploaded to the stand-in where the reader can open them."""
    for file in files:
        path = folder / file.filename
        path.write_bytes(file.data)
        where = f"the thread of {file.thread_ts}" if file.thread_ts else file.channel
        print(f"    (chart uploaded with files_upload_v2 to {where}: {file.title})")
        print(f"    Chart written to {path}")


def _own_metrics(url: str) -> None:
    """The bot's own Prometheus counters of the commands above, as GET /metrics serves them."""
    print("\n\n>>> GET /metrics (the bot's own health; commands by name and outcome)")
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:  # noqa: S310
        lines = response.read().decode().splitlines()
    for line in lines:
        if line.startswith(("iamauth_commands_total{", "iamauth_ack_seconds_count")):
            print(f"    {line}")


def _digests(
    runtime: Runtime,
    slack: SlackStandIn,
    settings: Settings,
    url: str,
    now: datetime,
    charts: Path,
) -> None:
    """One alert episode in #DEMO_CHANNEL, as the scheduler's job and a person make it: the tick
    during the ExpiredToken burst posts the digest; a person opens the Home tab and clicks
    Acknowledge on it; the tick after the burst edits the same digest and replies in its thread."""
    deliverer = runtime.deliverer()
    runner = runtime.digest_runner()

    def tick(label: str, moment: datetime, digest_ts: str | None) -> None:
        print(f"\n\n>>> digest tick {label}, watching prod-db for #{DEMO_CHANNEL}")
        posted, updated = len(slack.posted(DEMO_CHANNEL)), len(slack.updated(DEMO_CHANNEL))
        uploaded = len(slack.uploaded())
        runner.tick(moment)
        deliverer.deliver_pending()
        calls = slack.posted(DEMO_CHANNEL)[posted:] + slack.updated(DEMO_CHANNEL)[updated:]
        shown: set[str] = set()
        for call in sorted(calls, key=lambda c: c.at):  # in the order Slack got them
            what, text = _what_call(call, digest_ts), render_message(call.body)
            if text in shown:  # a thread reply telling what the edit shows: said, not repeated
                print(f"    ({what}, the same text as above)")
                continue
            shown.add(text)
            print(f"    ({what})")
            print(text)
        _save_charts(slack.uploaded()[uploaded:], charts)

    tick("during the burst (20 minutes ago)", now - timedelta(minutes=20), None)
    # The message the tick posted (not a reply in a thread): the one later news edits.
    tops = [m for m in slack.channel_messages(DEMO_CHANNEL) if "thread_ts" not in m]
    _open_home(url, slack, settings)
    digest_ts = None
    if tops:
        digest_ts = str(tops[-1]["ts"])
        _acknowledge(url, slack, settings, tops[-1])
    tick("once it is over (in 30 minutes)", now + timedelta(minutes=30), digest_ts)


def _what_call(call: Recorded, digest_ts: str | None) -> str:
    """What a Web API call the tick made does to the channel, said from the reader's side."""
    ts, thread = call.body.get("ts"), call.body.get("thread_ts")
    if call.method == "chat.update":
        if ts == digest_ts:
            return "chat.update of the digest above: edited in place"
        return f"chat.update of message {ts}: edited in place"
    if thread and thread == digest_ts:
        return f"chat.postMessage to {DEMO_CHANNEL}: reply in the digest's thread"
    if thread:
        return f"chat.postMessage to {DEMO_CHANNEL}: reply in the thread of {thread}"
    return f"chat.postMessage to {DEMO_CHANNEL}"


DEMO_USER = "U0DEMO0001"


def _open_home(url: str, slack: SlackStandIn, settings: Settings) -> None:
    """Open the app's Home tab as a person would (a signed `app_home_opened` event) and print the
    view the bot publishes for them."""
    assert settings.slack_signing_secret
    body = app_home_opened_body(DEMO_USER, "D0DEMOHOME")
    headers = {**signed_headers(settings.slack_signing_secret, body)}
    headers["Content-Type"] = "application/json"
    request = urllib.request.Request(  # noqa: S310 - a local http URL the demo built
        f"{url}/slack/events", data=body, headers=headers, method="POST"
    )
    print("\n\n>>> the Home tab, opened by a person while prod-db fires")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        print(f"    (HTTP {response.status} ack)")
    deadline = time.monotonic() + 15
    while not slack.published(DEMO_USER) and time.monotonic() < deadline:
        time.sleep(0.05)
    for published in slack.published(DEMO_USER)[-1:]:
        view = published.body["view"]
        view = json.loads(view) if isinstance(view, str) else view
        print("    (views.publish)")
        print(render_blocks(view["blocks"]))


def _acknowledge(url: str, slack: SlackStandIn, settings: Settings, digest: dict[str, Any]) -> None:
    """Click Acknowledge on the posted digest as a person would (a signed `block_actions` click
    carrying the message it is in, as Slack sends it) and print what its response_url gets."""
    assert settings.slack_signing_secret
    name = "demo-acknowledge"
    body = block_actions_body(
        ACKNOWLEDGE_ACTION,
        "prod-db",
        slack.response_url(name),
        user_id=DEMO_USER,
        channel_id=DEMO_CHANNEL,
        message=digest,
    )
    request = urllib.request.Request(  # noqa: S310 - a local http URL the demo built
        f"{url}/slack/events",
        data=body,
        headers=signed_headers(settings.slack_signing_secret, body),
        method="POST",
    )
    print(
        f"\n\n>>> a person ({DEMO_USER}) clicks Acknowledge on the prod-db digest in "
        f"#{DEMO_CHANNEL}"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        print(f"    (HTTP {response.status} ack)")
    reply = slack.wait_for(lambda r: r.path == f"/response/{name}", timeout=30).body
    before, after = render_message(digest).splitlines(), render_message(reply).splitlines()
    added = _only_added(before, after)
    if reply.get("replace_original") is True and added is not None:
        # The whole digest comes back; only what the click changed is worth reading again.
        print("    (answer via response_url: replace_original, the digest above with this added)")
        print("\n".join(added))
        return
    how = "replace_original" if reply.get("replace_original") else reply.get("response_type")
    print(f"    (answer via response_url: {how or 'ephemeral'})")
    print("\n".join(after))


def _only_added(before: list[str], after: list[str]) -> list[str] | None:
    """The lines `after` adds to `before`, when it only adds some (None otherwise)."""
    opcodes = difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes()
    if any(op not in {"equal", "insert"} for op, *_ in opcodes):
        return None
    added = [line for op, _, _, j1, j2 in opcodes if op == "insert" for line in after[j1:j2]]
    return added or None


def _ask(url: str, slack: SlackStandIn, settings: Settings, text: str, name: str) -> None:
    assert settings.slack_signing_secret
    body = slash_command_body(text, slack.response_url(name))
    request = urllib.request.Request(  # noqa: S310 - a local http URL the demo built
        f"{url}/slack/events",
        data=body,
        headers=signed_headers(settings.slack_signing_secret, body),
        method="POST",
    )
    print(f"\n\n>>> /iamauth {text}")
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        ack_body = response.read().decode()
        ack_ms = (time.monotonic() - started) * 1000
    print(f"    (HTTP {response.status} ack in {ack_ms:.0f} ms)")
    if ack_body.strip():
        print(render_message(json.loads(ack_body)))
        return
    reply = slack.wait_for(lambda r: r.path == f"/response/{name}", timeout=30)
    print(
        f"    (answer via response_url after {(reply.at - started) * 1000:.0f} ms, "
        f"{reply.body.get('response_type', 'ephemeral')})"
    )
    print(render_message(reply.body))
