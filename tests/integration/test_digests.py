"""Digest ticks against moto's metrics and the Slack stand-in, with time under the test's control."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.adapters.aws.clients import AwsClients
from bot.adapters.slack.outbox_delivery import Deliverer
from bot.adapters.slack.web_client import web_client
from bot.adapters.store.db import make_engine
from bot.adapters.store.repo import Store
from bot.bootstrap import Runtime, build_app, digest_pipeline, wsgi_app
from bot.config import Settings
from bot.domain.access import AccessPolicy, ClusterAccess
from bot.domain.address import Address, parse_address
from bot.domain.alerts import Threshold
from bot.domain.records import Family
from bot.domain.watches import make_watch
from bot.sandbox.local_server import LocalServer
from bot.sandbox.slack_standin import SlackStandIn
from bot.services.alerting.pipeline import DigestPipeline
from bot.services.served_watches import NOT_READABLE
from bot.views.chart_files import digest_png
from tests.conftest import BotUnderTest
from tests.integration.digest_helpers import INVALID, PERMISSIONS, put_per_minute

C1, C2 = "C0ALERTS01", "C0ALERTS02"


TEN_IN_FIVE = Threshold(Family.INVALID_TOKEN, 10, timedelta(minutes=5))


def invalid_token_watch(
    cluster: str = "prod-db", channel: str = C1, count: int = 10, **kw: Any
) -> Any:
    return make_watch(
        parse_address(cluster),
        channel,
        [Threshold(Family.INVALID_TOKEN, count, timedelta(minutes=5))],
        source="config",
        **kw,
    )


def run_ticks(
    runner: DigestPipeline, deliverer: Deliverer, base: datetime, minutes: range
) -> list[tuple[int, str, int]]:
    events = []
    for m in minutes:
        result = runner.tick(base + timedelta(minutes=m))
        deliverer.deliver_pending()
        events += [(m, notice.kind.value, notice.count) for _, notice in result.notices]
    return events


@pytest.fixture
def deliverer(runtime: Runtime) -> Deliverer:
    return runtime.deliverer(web_client(runtime.settings))


def test_firing_repeat_escalation_resolved(
    aws: AwsClients, runtime: Runtime, deliverer: Deliverer, slack: SlackStandIn, now: datetime
) -> None:
    per_minute = (
        {m: 2.0 for m in range(0, 15)}
        | {m: 6.0 for m in range(15, 20)}
        | {m: 0.0 for m in range(20, 40)}
    )
    put_per_minute(aws, "prod-db", INVALID, now, per_minute)
    watch = invalid_token_watch(repeat=timedelta(minutes=10))
    runner = digest_pipeline(
        aws, runtime.store, [watch], metrics_delay=timedelta(minutes=3), clock=runtime.clock
    )
    events = run_ticks(runner, deliverer, now, range(3, 36))
    assert events == [
        (8, "firing", 10),
        (18, "still firing", 10),
        (21, "escalated", 22),
        (27, "resolved", 6),
    ]
    posted = slack.posted(C1)
    assert len(posted) == 4
    assert posted[0].body["text"].startswith("IAM auth alerts: prod-db InvalidToken firing (10)")
    assert "escalated from 10" in str(posted[2].body["blocks"])
    assert posted[3].body["text"].startswith("IAM auth alerts resolved")
    assert all(p.body["metadata"]["event_type"] == "iamauth_digest" for p in posted)
    assert all(row.status == "sent" for row in runtime.store.outbox())


def test_silence_holds_notices_until_it_ends(
    aws: AwsClients, runtime: Runtime, deliverer: Deliverer, slack: SlackStandIn, now: datetime
) -> None:
    put_per_minute(aws, "prod-db", INVALID, now, {m: 3.0 for m in range(-10, 40)})
    runner = digest_pipeline(aws, runtime.store, [invalid_token_watch()], clock=runtime.clock)
    runtime.store.silence(Address("prod-db"), now + timedelta(minutes=15), "deploy", "U1", now)
    events = run_ticks(runner, deliverer, now, range(0, 20))
    # Breaching from the first tick, silenced until minute 15: announced then, once.
    assert events == [(15, "firing", 15)]
    assert len(slack.posted(C1)) == 1


def test_no_resolved_notice_when_turned_off(
    aws: AwsClients, runtime: Runtime, deliverer: Deliverer, slack: SlackStandIn, now: datetime
) -> None:
    put_per_minute(
        aws,
        "prod-db",
        INVALID,
        now,
        {m: 5.0 for m in range(-10, 2)} | {m: 0.0 for m in range(2, 20)},
    )
    runner = digest_pipeline(
        aws, runtime.store, [invalid_token_watch(send_resolved=False)], clock=runtime.clock
    )
    assert [kind for _, kind, _ in run_ticks(runner, deliverer, now, range(0, 15))] == ["firing"]


def test_one_message_per_channel_grouping_every_cluster_that_changed(
    aws: AwsClients, runtime: Runtime, deliverer: Deliverer, slack: SlackStandIn, now: datetime
) -> None:
    for cluster in ("alpha-db", "beta-db", "gamma-db"):
        put_per_minute(aws, cluster, INVALID, now, {m: 4.0 for m in range(-10, 5)})
    put_per_minute(aws, "beta-db", PERMISSIONS, now, {-6: 1.0})
    watches = [
        invalid_token_watch("alpha-db", C1),
        make_watch(
            parse_address("beta-db"),
            C1,
            [
                Threshold(Family.INVALID_TOKEN, 10, timedelta(minutes=5)),
                Threshold(Family.INSUFFICIENT_PERMISSIONS, 1, timedelta(minutes=15)),
            ],
            source="config",
        ),
        invalid_token_watch("gamma-db", C2),
    ]
    runner = digest_pipeline(aws, runtime.store, watches, clock=runtime.clock)
    runner.tick(now)
    deliverer.deliver_pending()
    assert len(slack.posted(C1)) == 1
    assert len(slack.posted(C2)) == 1
    text = slack.posted(C1)[0].body["text"]
    assert "alpha-db InvalidToken firing (20)" in text
    assert "beta-db InvalidToken firing (20)" in text
    assert "beta-db InsufficientPermissions firing (1)" in text
    blocks = slack.posted(C1)[0].body["blocks"]
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["text"]["text"] for b in buttons] == [
        "Acknowledge",
        "Silence 1h",
        "Show failures",
    ] * 2
    assert "gamma-db" in slack.posted(C2)[0].body["text"]


@pytest.mark.parametrize("clusters", [1, 80])
def test_metrics_of_all_watched_clusters_in_ceil_kn_over_500_calls(
    aws: AwsClients, runtime: Runtime, now: datetime, clusters: int
) -> None:
    """Only the metrics the thresholds evaluate are read (InvalidToken, and the requests that tell
    a cluster with its own series): k = 2 of the 7, for N clusters in ceil(2·N/500) calls."""
    calls: list[int] = []
    client = aws.cloudwatch()
    client.meta.events.register(
        "provide-client-params.cloudwatch.GetMetricData",
        lambda params, **_: calls.append(len(params["MetricDataQueries"])),
    )
    watches = [invalid_token_watch(f"db-{i}") for i in range(clusters)]
    digest_pipeline(aws, runtime.store, watches, clock=runtime.clock).tick(now)
    assert len(calls) == math.ceil(2 * clusters / 500)
    assert sum(calls) == 2 * clusters


class Crash(BaseException):
    """A process dying at this point: nothing catches it."""


def fresh_deliverer(runtime: Runtime) -> Deliverer:
    """What a restarted process has: new connections, new clients, the same database."""
    store = Store(make_engine(runtime.settings.database_url))
    return Deliverer(store, web_client(runtime.settings), runtime.clock, draw_chart=digest_png)


def firing_outbox(aws: AwsClients, runtime: Runtime, now: datetime) -> None:
    put_per_minute(aws, "prod-db", INVALID, now, {m: 9.0 for m in range(-10, 1)})
    result = digest_pipeline(aws, runtime.store, [invalid_token_watch()], clock=runtime.clock).tick(
        now
    )
    assert len(result.outbox_ids) == 1


def test_crash_between_outbox_write_and_post(
    aws: AwsClients, runtime: Runtime, slack: SlackStandIn, now: datetime
) -> None:
    firing_outbox(aws, runtime, now)  # ...and the process dies before posting
    assert slack.posted(C1) == []
    assert fresh_deliverer(runtime).deliver_pending() == 1
    assert fresh_deliverer(runtime).deliver_pending() == 0
    assert len(slack.posted(C1)) == 1


def test_crash_between_attempt_and_post(
    aws: AwsClients,
    runtime: Runtime,
    slack: SlackStandIn,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    firing_outbox(aws, runtime, now)
    dying = fresh_deliverer(runtime)

    def die(**_: Any) -> None:
        raise Crash

    monkeypatch.setattr(dying.client, "chat_postMessage", die)
    with pytest.raises(Crash):
        dying.deliver_pending()
    assert slack.posted(C1) == []
    assert fresh_deliverer(runtime).deliver_pending() == 1
    assert len(slack.posted(C1)) == 1


def test_crash_between_post_and_mark(
    aws: AwsClients,
    runtime: Runtime,
    slack: SlackStandIn,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    firing_outbox(aws, runtime, now)
    dying = fresh_deliverer(runtime)

    def die(*_: Any, **__: Any) -> None:
        raise Crash

    monkeypatch.setattr(dying.store, "mark_sent", die)
    with pytest.raises(Crash):
        dying.deliver_pending()
    assert len(slack.posted(C1)) == 1  # posted, but not marked
    recovering = fresh_deliverer(runtime)
    assert recovering.deliver_pending() == 0  # found in the channel's history: not posted again
    assert len(slack.posted(C1)) == 1
    (row,) = runtime.store.outbox()
    assert row.status == "sent"
    assert row.ts == slack.messages[C1][0]["ts"]


def test_rate_limited_then_posted(
    aws: AwsClients, runtime: Runtime, deliverer: Deliverer, slack: SlackStandIn, now: datetime
) -> None:
    answered: list[int] = []

    def first_429(_: Any) -> Any:
        answered.append(1)
        if len(answered) == 1:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}
        return None

    slack.replies["chat.postMessage"] = first_429
    firing_outbox(aws, runtime, now)
    assert deliverer.deliver_pending() == 1
    attempts = [r for r in slack.requests if r.method == "chat.postMessage"]
    assert [r.status for r in attempts] == [429, 200]
    assert len(slack.posted(C1)) == 1
    assert runtime.store.outbox()[0].status == "sent"


def test_permanent_slack_errors_stop_retrying(
    aws: AwsClients, runtime: Runtime, deliverer: Deliverer, slack: SlackStandIn, now: datetime
) -> None:
    slack.replies["chat.postMessage"] = lambda _: (
        200,
        {"ok": False, "error": "not_in_channel"},
        {},
    )
    firing_outbox(aws, runtime, now)
    assert deliverer.deliver_pending() == 0
    row = runtime.store.outbox()[0]
    assert (row.status, row.last_error) == ("failed", "not_in_channel")
    assert deliverer.deliver_pending() == 0
    assert len([r for r in slack.requests if r.method == "chat.postMessage"]) == 1


def test_watches_whose_channel_may_not_read_the_cluster_get_no_digest(
    settings: Settings,
    aws: AwsClients,
    clock: Callable[[], datetime],
    slack: SlackStandIn,
    now: datetime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Watches from the config file, or saved before the read rule was, that name a channel the
    cluster may not be read in: left out of every tick (one log line a tick), marked in the list."""
    c3 = "C0ALERTS03"  # may read nothing
    policy = AccessPolicy(
        enforced=True,
        channels=frozenset({C1, C2}),
        clusters={"secret-db": ClusterAccess(channels=frozenset({C2}))},
    )
    config = (invalid_token_watch("secret-db", C1), invalid_token_watch("prod-db", C1))
    runtime = Runtime.build(replace(settings, access=policy, watches=config), aws=aws, clock=clock)
    for cluster, channel in (("secret-db", C2), ("secret-db", c3), ("prod-db", c3)):
        runtime.store.save_watch(make_watch(parse_address(cluster), channel, [TEN_IN_FIVE]), now)
    for cluster in ("secret-db", "prod-db"):
        put_per_minute(aws, cluster, INVALID, now, {m: 3.0 for m in range(-10, 2)})

    runner = runtime.digest_runner()
    result = runner.tick(now)
    served = sorted((str(w.cluster), w.channel) for w, _ in result.notices)
    assert served == [("prod-db", C1), ("secret-db", C2)]
    left_out = [(str(s.watch.cluster), s.watch.channel, s.reason) for s in result.skipped]
    assert left_out == [
        ("secret-db", C1, NOT_READABLE),
        ("prod-db", c3, NOT_READABLE),
        ("secret-db", c3, NOT_READABLE),
    ]
    runtime.deliverer(web_client(runtime.settings)).deliver_pending()
    assert [p.body["text"] for p in slack.posted(C1)] == [
        "IAM auth alerts: prod-db InvalidToken firing (15)"
    ]
    assert [p.body["text"] for p in slack.posted(C2)] == [
        "IAM auth alerts: secret-db InvalidToken firing (15)"
    ]
    assert slack.posted(c3) == []
    runner.tick(now + timedelta(minutes=1))
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("digest: ")]
    assert len(lines) == 2  # one a tick, counting them all
    assert lines[0].startswith("digest: 3 watch(es) left out this tick: secret-db for C0ALERTS01")

    app = build_app(runtime)
    assert runtime.settings.slack_signing_secret
    with LocalServer(wsgi_app(app, runtime)) as server:
        bot = BotUnderTest(server.url, runtime.settings.slack_signing_secret, slack, runtime)
        reply = bot.command("watches", channel_id=C2)
    assert reply.response is not None
    listed = "\n".join(b["text"]["text"] for b in reply.response.body["blocks"] if "text" in b)
    marked = sorted(line.split(":")[0] for line in listed.splitlines() if "not sent" in line)
    assert marked == [f"`prod-db` → <#{c3}>", f"`secret-db` → <#{C1}>", f"`secret-db` → <#{c3}>"]
    assert f"not sent: {NOT_READABLE}" in listed
