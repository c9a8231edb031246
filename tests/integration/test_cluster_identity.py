"""With several targets a short name is the cluster of that name wherever iamauth finds it: a watch
of `eu-db` and one of `123456789012/eu-west-1/eu-db` are one watch when eu-db is only there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import pytest

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.targets import TargetSpec
from bot.bootstrap import Runtime
from bot.config import Settings
from bot.domain.address import parse_address
from bot.domain.watches import make_watch, parse_threshold_spec
from bot.sandbox.seed_aws import create_cluster
from bot.sandbox.slack_standin import SlackStandIn
from tests.integration.digest_helpers import INVALID, put_per_minute
from tests.integration.test_watch_commands import reply_text, serving

EU = "123456789012/eu-west-1/eu-db"
OPS = {"channel_id": "C0OPS00001"}


@pytest.fixture
def europe(aws: AwsClients) -> AwsClients:
    """eu-db in eu-west-1 only; prod-db in both regions."""
    europe = AwsClients(replace(aws.settings, region="eu-west-1"))
    create_cluster(europe.rds(), "eu-db", iam=True, exports=[], instances=1)
    for clients in (aws, europe):
        create_cluster(clients.rds(), "prod-db", iam=True, exports=[], instances=1)
    return europe


def two_regions(
    settings: Settings, aws: AwsClients, clock: Callable[[], datetime], *config: str
) -> Runtime:
    watches = tuple(
        make_watch(
            parse_address(c),
            "C0OPS00001",
            [parse_threshold_spec("invalid_token>=5/5m")],
            source="config",
        )
        for c in config
    )
    targets = (TargetSpec("home", ("us-east-1", "eu-west-1")),)
    return Runtime.build(replace(settings, targets=targets, watches=watches), aws=aws, clock=clock)


def test_watch_refuses_a_second_name_of_the_place_that_holds_a_cluster(
    settings: Settings,
    aws: AwsClients,
    europe: AwsClients,
    clock: Callable[[], datetime],
    slack: SlackStandIn,
) -> None:
    runtime = two_regions(settings, aws, clock)
    with serving(runtime, slack) as bot:
        assert "Now watching `eu-db`" in reply_text(bot, "watch eu-db", **OPS)
        assert f"`{EU}` is the cluster `eu-db`, already watched for <#C0OPS00001>" in reply_text(
            bot, f"watch {EU}", **OPS
        )
        # Another region's eu-db is another cluster; an ambiguous name is none in particular.
        other = "123456789012/us-east-1/eu-db"
        assert "Now watching" in reply_text(bot, f"watch {other}", **OPS)
        assert "Now watching" in reply_text(bot, "watch 123456789012/us-east-1/prod-db", **OPS)
        assert "Now watching `prod-db`" in reply_text(bot, "watch prod-db", **OPS)
    assert sorted(str(w.cluster) for w in runtime.store.list_watches()) == [
        "123456789012/us-east-1/eu-db",
        "123456789012/us-east-1/prod-db",
        "eu-db",
        "prod-db",
    ]


def test_the_digest_serves_one_watch_of_a_cluster_named_two_ways(
    settings: Settings,
    aws: AwsClients,
    europe: AwsClients,
    clock: Callable[[], datetime],
    slack: SlackStandIn,
    now: datetime,
) -> None:
    runtime = two_regions(settings, aws, clock, "eu-db")
    threshold = [parse_threshold_spec("invalid_token>=5/5m")]
    runtime.store.save_watch(
        make_watch(parse_address(EU), "C0OPS00001", threshold), now
    )  # saved long ago
    put_per_minute(europe, "eu-db", INVALID, now, {m: 3.0 for m in range(-10, 1)})
    result = runtime.digest_runner().tick(now)
    assert [(str(w.cluster), n.count) for w, n in result.notices] == [("eu-db", 15)]
    assert [str(s.watch.cluster) for s in result.skipped] == [EU]
