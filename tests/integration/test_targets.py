"""Several regions and accounts (AssumeRole) in moto: listing, addressing, ambiguity."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.targets import Place, Targets, TargetSpec
from bot.bootstrap import Runtime, build_app, wsgi_app
from bot.config import ConfigError, Settings, load_settings
from bot.sandbox.local_server import LocalServer
from bot.sandbox.seed_aws import Failure, create_cluster, put_metrics
from bot.sandbox.slack_standin import SlackStandIn
from bot.services.clusters import list_clusters
from tests.conftest import BotUnderTest, run_iamauth
from tests.integration.test_slash_commands import all_text

ROLE = "arn:aws:iam::111111111111:role/iamauth-read"
SPECS = (
    TargetSpec("home", ("us-east-1", "eu-west-1")),
    TargetSpec("prod", ("us-east-1",), ROLE, "ext-1"),
)


@pytest.fixture
def targets(aws: AwsClients, now: datetime) -> Targets:
    """prod-db in 123456789012/us-east-1 and in 111111111111/us-east-1; eu-db in eu-west-1."""
    targets = Targets(SPECS, aws.settings)
    home, europe, prod = targets.places()
    assert (home.label, europe.label, prod.label) == (
        "123456789012/us-east-1",
        "123456789012/eu-west-1",
        "111111111111/us-east-1",
    )
    for place, cluster, failures in (
        (home, "prod-db", 2),
        (europe, "eu-db", 5),
        (prod, "prod-db", 7),
    ):
        clients = targets.clients(place)
        create_cluster(clients.rds(), cluster, iam=True, exports=["iam-db-auth-error"], instances=1)
        events = [
            Failure(now - timedelta(hours=1, minutes=i), "app", "InvalidToken")
            for i in range(failures)
        ]
        put_metrics(clients.cloudwatch(), cluster, events, 0, now - timedelta(hours=3), now)
    create_cluster(targets.clients(home).rds(), "legacy-db", iam=False, exports=[], instances=1)
    return targets


def test_clusters_of_every_target_with_one_metrics_call_each(
    targets: Targets, now: datetime
) -> None:
    calls: list[Place] = []
    for place in targets.places():
        targets.clients(place).cloudwatch().meta.events.register(
            "before-send.cloudwatch.GetMetricData", lambda place=place, **_: calls.append(place)
        )
    listing = list_clusters(targets, now)
    assert [(r.place, r.cluster, r.failures_24h) for r in listing.rows] == [
        ("111111111111/us-east-1", "prod-db", 7),
        ("123456789012/eu-west-1", "eu-db", 5),
        ("123456789012/us-east-1", "prod-db", 2),
    ]
    assert listing.problems == []
    assert sorted(p.label for p in calls) == sorted(p.label for p in targets.places())


def test_assumed_role_credentials_are_refreshable(targets: Targets) -> None:
    prod = targets.places()[2]
    clients = targets.clients(prod)
    assert clients.sts().get_caller_identity()["Account"] == "111111111111"
    credentials = clients._session.get_credentials()
    assert credentials is not None
    assert credentials.method == "assume-role"
    assert hasattr(credentials, "refresh_needed")  # botocore refreshes them before expiry
    assert targets.clients(prod) is clients  # one set of clients per (account, region)


@pytest.fixture
def multi_bot(
    settings: Settings, aws: AwsClients, clock: Callable[[], datetime], slack: SlackStandIn
) -> Iterator[BotUnderTest]:
    runtime = Runtime.build(replace(settings, targets=SPECS), aws=aws, clock=clock)
    assert runtime.settings.slack_signing_secret
    with LocalServer(wsgi_app(build_app(runtime), runtime)) as server:
        yield BotUnderTest(server.url, runtime.settings.slack_signing_secret, slack, runtime)


def said(bot: BotUnderTest, text: str) -> str:
    reply = bot.command(text)
    assert reply.response is not None
    return all_text(reply.response.body)


def test_an_ambiguous_short_name_asks_which(multi_bot: BotUnderTest, targets: Targets) -> None:
    text = said(multi_bot, "metrics prod-db 24h")
    assert "`prod-db` exists in more than one place; which one:" in text
    assert "`123456789012/us-east-1/prod-db`" in text
    assert "`111111111111/us-east-1/prod-db`" in text
    assert "7 failed" in said(multi_bot, "metrics 111111111111/us-east-1/prod-db 24h")
    assert "2 failed" in said(multi_bot, "metrics 123456789012/us-east-1/prod-db 24h")
    assert "5 failed" in said(multi_bot, "metrics eu-db 24h")  # unique: found in eu-west-1
    assert "IAM auth failures · eu-db · 123456789012/eu-west-1" in said(multi_bot, "failures eu-db")
    listing = said(multi_bot, "clusters")
    assert "`111111111111/us-east-1/prod-db`: *7* failures in 24h" in listing
    assert "legacy-db" not in listing
    reply = multi_bot.command("metrics 12345/us-east-1/prod-db", expect_reply=False)
    assert reply.ack is not None
    assert "is not a cluster address" in all_text(reply.ack)


def test_clusters_in_the_terminal(targets: Targets, moto_endpoint: str, tmp_path: Path) -> None:
    config = tmp_path / "iamauth.toml"
    config.write_text(
        '[[target]]\nname = "home"\nregions = ["us-east-1", "eu-west-1"]\n\n'
        f'[[target]]\nname = "prod"\nregions = ["us-east-1"]\nrole_arn = "{ROLE}"\nexternal_id = "ext-1"\n'
    )
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_endpoint, "IAMAUTH_CONFIG": str(config)}
    result = run_iamauth(env, "clusters", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["clusters"]
    assert [(r["place"], r["cluster"], r["failures_24h"], r["log_export_on"]) for r in rows] == [
        ("111111111111/us-east-1", "prod-db", 7, True),
        ("123456789012/eu-west-1", "eu-db", 5, True),
        ("123456789012/us-east-1", "prod-db", 2, True),
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[[target]]\nregions = "us-east-1"', "regions must be a list"),
        ('[[target]]\nregions = ["moon-1"]', "regions must be a list"),
        (
            '[[target]]\nregions = ["us-east-1"]\nrole_arn = "admin"',
            "role_arn must be an IAM role ARN",
        ),
        ('[[target]]\nregions = ["us-east-1"]\nrole = "x"', "unknown key `role`"),
    ],
)
def test_wrong_targets_are_refused(tmp_path: Path, text: str, reason: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match="line") as error:
        load_settings({"IAMAUTH_CONFIG": str(config)})
    assert reason in str(error.value)


def test_digests_evaluate_each_watch_in_its_own_place(
    targets: Targets, runtime: Runtime, now: datetime
) -> None:
    from bot.bootstrap import digest_pipeline
    from bot.domain.address import parse_address
    from bot.domain.watches import make_watch, parse_threshold_spec
    from tests.integration.digest_helpers import INVALID, put_per_minute

    home, europe, prod = targets.places()
    put_per_minute(targets.clients(europe), "eu-db", INVALID, now, {m: 3.0 for m in range(-10, 1)})
    put_per_minute(targets.clients(prod), "prod-db", INVALID, now, {m: 4.0 for m in range(-10, 1)})
    put_per_minute(targets.clients(home), "prod-db", INVALID, now, {m: 0.0 for m in range(-10, 1)})
    threshold = [parse_threshold_spec("invalid_token>=5/5m")]
    watches = [
        make_watch(parse_address("eu-db"), "C0ALERTS01", threshold, source="config"),
        make_watch(
            parse_address("111111111111/us-east-1/prod-db"),
            "C0ALERTS01",
            threshold,
            source="config",
        ),
        make_watch(
            parse_address("123456789012/us-east-1/prod-db"),
            "C0ALERTS01",
            threshold,
            source="config",
        ),
        make_watch(
            parse_address("prod-db"), "C0ALERTS02", threshold, source="config"
        ),  # ambiguous: skipped, logged
    ]
    calls: list[str] = []
    for place in targets.places():
        targets.clients(place).cloudwatch().meta.events.register(
            "before-send.cloudwatch.GetMetricData",
            lambda place=place, **_: calls.append(place.label),
        )
    runner = digest_pipeline(
        runtime.aws, runtime.store, watches, clock=lambda: now, targets=targets
    )
    result = runner.tick(now)
    fired = sorted((str(w.cluster), n.count) for w, n in result.notices)
    assert fired == [("111111111111/us-east-1/prod-db", 20), ("eu-db", 15)]
    # One call per place for what the thresholds evaluate, and one more in each place where a
    # cluster fired, for its chart's hour (home's prod-db stayed quiet: no chart read there).
    fired_places = sorted([europe.label, prod.label])
    assert sorted(calls) == sorted([p.label for p in targets.places()] + fired_places)


def test_calls_per_account_and_region_are_bounded(targets: Targets) -> None:
    for place in targets.places():
        assert targets.clients(place).cloudwatch().meta.config.max_pool_connections == 10  # type: ignore[attr-defined]
