"""The Home tab: signed `app_home_opened` events over HTTP to the real Bolt app; the view it
publishes read from the Slack stand-in's `views.publish` calls."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest

from bot.adapters.aws.clients import AwsClients
from bot.bootstrap import Runtime, build_app, wsgi_app
from bot.config import Settings
from bot.domain.access import AccessPolicy, ClusterAccess
from bot.domain.address import Address, parse_address
from bot.domain.alerts import AlertState, Status
from bot.domain.records import Family
from bot.domain.watches import DEFAULT_THRESHOLDS, make_watch
from bot.sandbox.local_server import LocalServer
from bot.sandbox.seed_aws import Failure, create_cluster, put_metrics
from bot.sandbox.slack_signing import app_home_opened_body, signed_headers
from bot.sandbox.slack_standin import Recorded, SlackStandIn
from bot.services.home import HomeService
from tests.conftest import BotUnderTest
from tests.integration.test_targets import SPECS, targets  # noqa: F401 (a fixture)

USER, OTHER = "U0DEMO0001", "U0OTHER001"
HOME = "D0HOME0001"  # the person's conversation with the app: the Home tab's channel
OPS, SECRET = "C0DEMO0001", "C0SECRET01"
POLICY = AccessPolicy(
    enforced=True,
    admins=frozenset({USER, OTHER}),
    channels=frozenset({OPS, HOME}),
    clusters={"secret-db": ClusterAccess(channels=frozenset({SECRET}))},
)


def app_home_opened(user: str, channel: str = HOME, tab: str = "home") -> bytes:
    return app_home_opened_body(user, channel, tab)


def open_home(bot: BotUnderTest, user: str = USER, channel: str = HOME) -> None:
    body = app_home_opened(user, channel)
    headers = {**signed_headers(bot.secret, body), "Content-Type": "application/json"}
    status, _ = bot.post(body, headers)
    assert status == 200


def view_text(recorded: Recorded) -> str:
    view = recorded.body["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["type"] == "home"
    assert len(view["blocks"]) <= 100
    parts = []
    for block in view["blocks"]:
        for item in [block, *block.get("elements", [])]:
            text = item.get("text")
            parts.append(text["text"] if isinstance(text, dict) else str(text or ""))
    return "\n".join(parts)


def nth_publish(slack: SlackStandIn, user: str, n: int) -> Recorded:
    slack.wait_for(lambda r: len(slack.published(user)) >= n)
    return slack.published(user)[n - 1]


@pytest.fixture
def bot(runtime: Runtime, slack: SlackStandIn) -> Iterator[BotUnderTest]:
    runtime = replace(runtime, settings=replace(runtime.settings, access=POLICY))
    app = build_app(runtime)
    assert runtime.settings.slack_signing_secret
    with LocalServer(wsgi_app(app, runtime)) as server:
        yield BotUnderTest(server.url, runtime.settings.slack_signing_secret, slack, runtime)


@pytest.fixture
def watched(aws: AwsClients, runtime: Runtime, now: datetime) -> None:
    """prod-db (firing, 3 InvalidToken + 2 NotAuthorized in the last hours) and quiet-db, both
    readable in the Home tab; secret-db, readable in #secret only."""
    for name in ("prod-db", "quiet-db", "secret-db"):
        create_cluster(aws.rds(), name, iam=True, exports=["iam-db-auth-error"])
    failures = [
        Failure(now - timedelta(hours=3), "app", "InvalidToken"),
        Failure(now - timedelta(hours=2), "app", "ExpiredToken"),
        Failure(now - timedelta(minutes=30), "app", "InvalidToken"),
        Failure(now - timedelta(minutes=20), "job", "NotAuthorized"),
        Failure(now - timedelta(minutes=10), "job", "NotAuthorized"),
    ]
    start = now - timedelta(hours=4)
    put_metrics(aws.cloudwatch(), "prod-db", failures, 5, start, now, step_minutes=10)
    put_metrics(aws.cloudwatch(), "secret-db", failures * 3, 5, start, now, step_minutes=10)
    store = runtime.store
    for name, channel in (("prod-db", OPS), ("quiet-db", OPS), ("secret-db", SECRET)):
        watch = make_watch(Address(name), channel, list(DEFAULT_THRESHOLDS))
        store.save_watch(watch, now)
    prod = make_watch(Address("prod-db"), OPS, list(DEFAULT_THRESHOLDS))
    firing = AlertState(Status.FIRING, now - timedelta(minutes=25), now, 3, 3)
    store.commit_tick({(prod.key, Family.INVALID_TOKEN): firing}, [], now)


def test_home_tab_says_when_a_resolved_cluster_last_fired(
    bot: BotUnderTest, aws: AwsClients, watched: None, now: datetime
) -> None:
    prod = make_watch(Address("prod-db"), OPS, list(DEFAULT_THRESHOLDS))
    bot.runtime.store.commit_tick({(prod.key, Family.INVALID_TOKEN): AlertState()}, [], now)
    open_home(bot)
    text = view_text(nth_publish(bot.slack, USER, 1))
    line = next(x for x in text.splitlines() if "last fired" in x)
    assert line.startswith(":large_green_circle: ok")  # over, and still said when it was
    assert f"last fired {now - timedelta(minutes=25):%Y-%m-%d %H:%M} UTC" in line


def count_get_metric_data(aws: AwsClients) -> list[int]:
    calls: list[int] = []
    aws.cloudwatch().meta.events.register(
        "provide-client-params.cloudwatch.GetMetricData",
        lambda params, **_: calls.append(len(params["MetricDataQueries"])),
    )
    return calls


def test_home_tab_shows_readable_clusters_states_and_counts(
    bot: BotUnderTest, aws: AwsClients, watched: None, now: datetime
) -> None:
    calls = count_get_metric_data(aws)
    open_home(bot)
    published = nth_publish(bot.slack, USER, 1)
    assert published.body["user_id"] == USER
    text = view_text(published)
    assert "*prod-db* → <#C0DEMO0001>" in text
    assert ":red_circle: *firing* · firing: InvalidToken" in text
    assert f"last fired {now - timedelta(minutes=25):%Y-%m-%d %H:%M} UTC" in text
    assert "Last 24 h: *5* failures · InvalidToken *3*" in text
    assert "InsufficientPermissions *2*" in text
    assert "*quiet-db*" in text
    assert "No failures in the last 24 h" in text
    assert "*2* watched clusters: *1* firing, *0* silenced, 1 ok" in text
    # secret-db may not be read in the Home tab's channel: neither shown nor counted in.
    assert "secret-db" not in json.dumps(published.body)
    assert "1 watched clusters that may not be read here are left out." in text
    # The buttons carry the digest buttons' values under the Home tab's action ids.
    view = published.body["view"]
    actions = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {"action_id": "home_watch_open"}.items() <= actions[0].items()
    assert {e["action_id"] for e in actions[1:]} == {"home_show_failures", "home_silence_1h"}
    assert any(e.get("value") == "prod-db" for e in actions)
    # Every watched cluster of the one place in one GetMetricData call (4 families of each and of its 2 members).
    assert calls == [36]
    # Opened again within the cache's minute: published again, no new metrics call.
    open_home(bot)
    assert "*prod-db*" in view_text(nth_publish(bot.slack, USER, 2))
    assert calls == [36]


def test_messages_tab_publishes_nothing(bot: BotUnderTest, watched: None) -> None:
    body = app_home_opened(USER, tab="messages")
    status, _ = bot.post(
        body, {**signed_headers(bot.secret, body), "Content-Type": "application/json"}
    )
    assert status == 200
    open_home(bot, OTHER)  # a later Home opening: once it is published, the first was handled
    nth_publish(bot.slack, OTHER, 1)
    assert bot.slack.published(USER) == []


def test_home_tab_is_refreshed_after_the_persons_own_silence(
    bot: BotUnderTest, watched: None
) -> None:
    open_home(bot)
    assert ":red_circle: *firing*" in view_text(nth_publish(bot.slack, USER, 1))
    open_home(bot, OTHER)
    nth_publish(bot.slack, OTHER, 1)
    reply = bot.command("silence prod-db 1h deploy", user_id=USER)
    assert reply.response is not None
    text = view_text(nth_publish(bot.slack, USER, 2))
    assert ":no_bell: *silenced* · firing: InvalidToken · silenced until" in text
    assert "*1* firing" not in text
    # Another person's Home tab is not published again for this change.
    assert len(bot.slack.published(OTHER)) == 1


def home_click(action_id: str, value: str, user: str = USER, channel: str = HOME) -> bytes:
    """A button click in a Home view, as Slack posts it: no channel, no response_url; the view
    carries the private_metadata the bot published it with."""
    payload = {
        "type": "block_actions",
        "team": {"id": "T0TEAM0001"},
        "user": {"id": user},
        "api_app_id": "A0IAMAUTH1",
        "container": {"type": "view", "view_id": "V0HOME0001"},
        "trigger_id": "1.2.3",
        "view": {
            "id": "V0HOME0001",
            "type": "home",
            "private_metadata": json.dumps({"channel": channel}),
        },
        "actions": [
            {"type": "button", "action_id": action_id, "block_id": "b1", "value": value,
             "action_ts": "1.2"}
        ],
    }  # fmt: skip
    return urlencode({"payload": json.dumps(payload)}).encode()


def test_home_buttons_silence_and_show_failures_answer_in_the_app_conversation(
    bot: BotUnderTest, watched: None
) -> None:
    open_home(bot)
    nth_publish(bot.slack, USER, 1)
    body = home_click("home_silence_1h", "prod-db")
    status, _ = bot.post(body, signed_headers(bot.secret, body))
    assert status == 200
    answer = bot.slack.wait_for(
        lambda r: r.method == "chat.postMessage" and r.body.get("channel") == USER
    )
    assert "prod-db" in str(answer.body.get("text"))
    assert Address("prod-db") in bot.runtime.store.active_silences(bot.runtime.clock())
    # The person's own change: their Home tab again, now silenced.
    assert ":no_bell: *silenced*" in view_text(nth_publish(bot.slack, USER, 2))
    # Show failures is a read: decided for the Home tab's channel, where secret-db is not read.
    body = home_click("home_show_failures", json.dumps({"cluster": "secret-db", "window": "1h"}))
    bot.post(body, signed_headers(bot.secret, body))
    refusal = bot.slack.wait_for(
        lambda r: r.method == "chat.postMessage" and "secret-db" in str(r.body.get("text"))
    )
    assert "may not be queried from this channel" in str(refusal.body.get("text"))
    assert [e.action for e in bot.runtime.store.recent_audit(2)] == [
        'button home_show_failures {"cluster": "secret-db", "window": "1h"}',
        "button home_silence_1h prod-db",
    ]


@pytest.fixture
def multi_bot(
    settings: Settings,
    aws: AwsClients,
    clock: Callable[[], datetime],
    slack: SlackStandIn,
    request: pytest.FixtureRequest,
) -> Iterator[BotUnderTest]:
    """The bot over the three places of tests/integration/test_targets.py (seeded by its
    `targets` fixture), access open."""
    request.getfixturevalue("targets")
    runtime = Runtime.build(replace(settings, targets=SPECS), aws=aws, clock=clock)
    assert runtime.settings.slack_signing_secret
    with LocalServer(wsgi_app(build_app(runtime), runtime)) as server:
        yield BotUnderTest(server.url, runtime.settings.slack_signing_secret, slack, runtime)


def test_one_metrics_call_per_place(multi_bot: BotUnderTest, now: datetime) -> None:
    runtime = multi_bot.runtime
    for name in ("eu-db", "111111111111/us-east-1/prod-db", "123456789012/us-east-1/prod-db"):
        runtime.store.save_watch(
            make_watch(parse_address(name), OPS, list(DEFAULT_THRESHOLDS)), now
        )
    calls: list[str] = []
    for place in runtime.targets.places():
        runtime.targets.clients(place).cloudwatch().meta.events.register(
            "before-send.cloudwatch.GetMetricData",
            lambda place=place, **_: calls.append(place.label),
        )
    open_home(multi_bot)
    text = view_text(nth_publish(multi_bot.slack, USER, 1))
    assert "*111111111111/us-east-1/prod-db* → <#C0DEMO0001>" in text
    assert "Last 24 h: *7* failures · InvalidToken *7*" in text
    assert "Last 24 h: *5* failures · InvalidToken *5*" in text
    assert "Last 24 h: *2* failures · InvalidToken *2*" in text
    assert sorted(calls) == sorted(p.label for p in runtime.targets.places())


def test_many_aurora_members_fall_back_to_read_metrics_batches(
    aws: AwsClients, runtime: Runtime, now: datetime
) -> None:
    """42 clusters of 2 members: 504 queries asked together would not fit one call, so the
    clusters' own series go first (168 queries) and the members' of those without any next."""
    for i in range(42):
        create_cluster(aws.rds(), f"db-{i:02d}", iam=True, exports=[], instances=2)
        watch = make_watch(Address(f"db-{i:02d}"), OPS, list(DEFAULT_THRESHOLDS))
        runtime.store.save_watch(watch, now)
    failure = [Failure(now - timedelta(hours=1), "app", "InvalidToken")]
    put_metrics(aws.cloudwatch(), "db-00", failure, 0, now - timedelta(hours=2), now)
    put_metrics(
        aws.cloudwatch(), "db-01-1", failure * 4, 0, now - timedelta(hours=2), now,
        dimension="DBInstanceIdentifier",
    )  # fmt: skip
    calls = count_get_metric_data(aws)
    home = HomeService(
        runtime.watches, runtime.store, aws, runtime.targets, AccessPolicy(), runtime.clock
    )
    rows = {str(r.cluster): r.failures_24h for r in home.home(HOME).rows}
    assert calls == [168, 41 * 2 * 4]
    assert rows["db-00"] == 1
    assert rows["db-01"] == 4
    assert sum(rows.values()) == 5
