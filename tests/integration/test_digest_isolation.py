"""One place that cannot be read, or one cluster whose log does not answer, costs that place or that
cluster's detail only: every other channel still gets its digest, on time. AWS is moto behind a
proxy (tests/integration/aws_faults.py) that holds or refuses the chosen requests."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.targets import Targets, TargetSpec
from bot.adapters.slack.web_client import web_client
from bot.bootstrap import Runtime, digest_pipeline
from bot.domain.address import parse_address
from bot.domain.watches import make_watch, parse_threshold_spec
from bot.sandbox.seed_aws import Failure, create_cluster, put_failures
from bot.sandbox.slack_standin import SlackStandIn
from tests.integration.aws_faults import FaultyAws, faulty_aws
from tests.integration.digest_helpers import INVALID, put_per_minute
from tests.integration.test_digests import C1, C2, invalid_token_watch

C3 = "C0ALERTS03"
ROLE = "arn:aws:iam::111111111111:role/iamauth-read"
SPECS = (
    TargetSpec("home", ("us-east-1", "eu-west-1")),
    TargetSpec("prod", ("us-east-1",), ROLE),
)


@pytest.fixture
def proxy(aws: AwsClients, moto_endpoint: str) -> Iterator[FaultyAws]:
    yield from faulty_aws(moto_endpoint)


def failed_parts(part: str) -> Counter[str]:
    """iamauth_digest_parts_failed so far, by reason."""
    return Counter(
        {
            sample.labels["reason"]: sample.value
            for metric in REGISTRY.collect()
            if metric.name == "iamauth_digest_parts_failed"
            for sample in metric.samples
            if sample.name.endswith("_total") and sample.labels["part"] == part
        }
    )


def posted_text(slack: SlackStandIn, channel: str) -> list[str]:
    return [str(p.body["blocks"]) for p in slack.posted(channel)]


@pytest.mark.parametrize(
    ("read_timeout", "budget", "reason"),
    [(60.0, 1.0, "timeout"), (1.0, 60.0, "ReadTimeoutError")],  # (no retries)
    ids=["no answer within the tick's budget", "botocore's read timeout"],
)
def test_a_log_read_that_hangs_costs_only_its_clusters_detail(
    read_timeout: float,
    budget: float,
    reason: str,
    proxy: FaultyAws,
    aws: AwsClients,
    runtime: Runtime,
    slack: SlackStandIn,
    now: datetime,
) -> None:
    for cluster in ("alpha-db", "beta-db"):
        create_cluster(aws.rds(), cluster, iam=True, exports=["iam-db-auth-error"], instances=1)
        put_per_minute(aws, cluster, INVALID, now, {m: 4.0 for m in range(-10, 1)})
        failures = [Failure(now - timedelta(minutes=5), "app_user", "InvalidToken")]
        put_failures(aws.logs(), cluster, failures, streams=1)
    proxy.hold = lambda call: call.api == "FilterLogEvents" and b"/alpha-db/" in call.body
    through_proxy = AwsClients(
        replace(aws.settings, endpoint_url=proxy.url, read_timeout=read_timeout, max_attempts=0)
    )
    runner = digest_pipeline(
        through_proxy,
        runtime.store,
        [invalid_token_watch("alpha-db", C1), invalid_token_watch("beta-db", C2)],
        clock=runtime.clock,
        detail_budget_seconds=budget,
    )
    before = failed_parts("detail")
    started = time.monotonic()
    runner.tick(now)
    assert time.monotonic() - started < 30  # not the 60 s of either limit
    assert runtime.deliverer(web_client(runtime.settings)).deliver_pending() == 2
    [alpha], [beta] = posted_text(slack, C1), posted_text(slack, C2)
    assert "alpha-db" in alpha
    assert "From the log" not in alpha  # left out…
    assert "From the log" in beta  # …and only there
    assert "app_user" in beta
    assert [call.api for call in proxy.held] == ["FilterLogEvents"]
    failed = failed_parts("detail") - before
    # "timeout": the tick's budget ran out first; the read was still waiting for its answer.
    assert set(failed) <= {reason, "AwsUnreachable"}
    assert sum(failed.values()) == 1


@pytest.mark.parametrize("fault", ["role refused", "metrics answer too late"])
def test_a_place_that_cannot_be_read_skips_only_its_watches(
    fault: str,
    proxy: FaultyAws,
    runtime: Runtime,
    slack: SlackStandIn,
    now: datetime,
    aws: AwsClients,
) -> None:
    settings = replace(aws.settings, endpoint_url=proxy.url, read_timeout=1.0, max_attempts=0)
    targets = Targets(SPECS, settings)
    home, europe, prod = targets.places()
    breaching = {m: 4.0 for m in range(-10, 15)}
    recovering = breaching | {m: 0.0 for m in range(0, 15)}
    put_per_minute(targets.clients(home), "alpha-db", INVALID, now, recovering)
    put_per_minute(targets.clients(europe), "eu-db", INVALID, now, breaching)
    put_per_minute(targets.clients(prod), "prod-db", INVALID, now, breaching)
    watches = {
        C1: f"{home.label}/alpha-db",  # resolves in the second tick
        C2: f"{europe.label}/eu-db",
        C3: f"{prod.label}/prod-db",
    }
    threshold = [parse_threshold_spec("invalid_token>=5/5m")]
    config = [
        make_watch(parse_address(a), c, threshold, source="config") for c, a in watches.items()
    ]
    deliverer = runtime.deliverer(web_client(runtime.settings))

    def tick(targets: Targets, minutes: int) -> None:
        digest_pipeline(
            runtime.aws, runtime.store, config, clock=runtime.clock, targets=targets
        ).tick(now + timedelta(minutes=minutes))
        deliverer.deliver_pending()

    tick(targets, 0)
    assert [len(slack.posted(c)) for c in watches] == [1, 1, 1]  # all three fired
    firing = runtime.store.alert_states()

    if fault == "role refused":  # the role's trust policy changed; the bot restarts
        proxy.deny_assume_role = lambda _: True
        lost = C3
    else:  # GetMetricData in eu-west-1 answers after the read timeout
        proxy.hold = lambda call: call.api == "GetMetricData" and call.region == europe.region
        lost = C2
    before = failed_parts("metrics")
    tick(Targets(SPECS, settings), 10)

    assert len(slack.posted(C1)) == 2  # its place answered: alpha-db's resolved notice went out
    assert slack.posted(C1)[-1].body["text"].startswith("IAM auth alerts resolved")
    assert len(slack.posted(lost)) == 1  # no "resolved" made of missing data
    [key] = [w.key for w in config if w.channel == lost]
    states = runtime.store.alert_states()
    assert {k: s for k, s in states.items() if k[0] == key} == {
        k: s for k, s in firing.items() if k[0] == key
    }
    assert any(k[0] == key for k in firing)
    assert sum((failed_parts("metrics") - before).values()) == 1
