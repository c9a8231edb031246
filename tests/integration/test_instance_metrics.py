"""Metrics of RDS DB instances and of Aurora clusters whose series exist only under their members:
one rule for `/iamauth metrics`, the digest and the clusters listing, against moto's server."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.cloudwatch_metrics import resource_metrics
from bot.adapters.aws.rds import describe_resource
from bot.adapters.aws.targets import Targets
from bot.adapters.slack.outbox_delivery import Deliverer
from bot.adapters.slack.web_client import web_client
from bot.bootstrap import Runtime, digest_pipeline
from bot.domain.address import Address
from bot.domain.metrics import CLUSTER_DIMENSION, INSTANCE_DIMENSION, METRIC_NAMES, NAMESPACE
from bot.domain.window import Window
from bot.sandbox.seed_aws import create_cluster, create_instance
from bot.sandbox.slack_standin import SlackStandIn
from bot.services.alerting.aws_reads import AwsAlertReads
from bot.services.clusters import list_clusters
from bot.views.clusters import clusters_message
from tests.integration.digest_helpers import INVALID, PERMISSIONS
from tests.integration.test_digests import C1, invalid_token_watch, run_ticks


def put_series(
    aws: AwsClients,
    dimension: str,
    name: str,
    metric: str,
    base: datetime,
    per_minute: dict[int, float],
) -> None:
    data: list[Any] = [
        {
            "MetricName": metric,
            "Dimensions": [{"Name": dimension, "Value": name}],
            "Timestamp": base + timedelta(minutes=m),
            "Value": value,
        }
        for m, value in sorted(per_minute.items())
    ]
    aws.cloudwatch().put_metric_data(Namespace=NAMESPACE, MetricData=data)


def count_get_metric_data(client: Any) -> list[int]:
    """The number of queries of each GetMetricData call `client` makes from now on."""
    calls: list[int] = []
    client.meta.events.register(
        "provide-client-params.cloudwatch.GetMetricData",
        lambda params, **_: calls.append(len(params["MetricDataQueries"])),
    )
    return calls


@pytest.fixture
def deliverer(runtime: Runtime) -> Deliverer:
    return runtime.deliverer(web_client(runtime.settings))


def with_targets(runtime: Runtime, use: bool) -> Targets | None:
    """The process's targets (the inventory says each name's kind), or none (each described)."""
    return runtime.targets if use else None


@pytest.mark.parametrize("use_targets", [True, False], ids=["inventory", "described"])
def test_a_watch_of_an_rds_instance_fires_from_its_instance_series(
    aws: AwsClients,
    runtime: Runtime,
    deliverer: Deliverer,
    slack: SlackStandIn,
    now: datetime,
    use_targets: bool,
) -> None:
    create_instance(aws.rds(), "billing-pg", iam=True, exports=["iam-db-auth-error"])
    put_series(aws, INSTANCE_DIMENSION, "billing-pg", INVALID, now, {m: 3.0 for m in range(0, 10)})
    runner = digest_pipeline(
        aws,
        runtime.store,
        [invalid_token_watch("billing-pg")],
        clock=runtime.clock,
        metrics_delay=timedelta(0),
        targets=with_targets(runtime, use_targets),
    )
    events = run_ticks(runner, deliverer, now, range(1, 6))
    assert events == [(4, "firing", 12)]  # 3 a minute: 12 >= 10 in the 5m to minute 4
    assert "billing-pg InvalidToken firing (12)" in slack.posted(C1)[0].body["text"]


@pytest.mark.parametrize("use_targets", [True, False], ids=["inventory", "described"])
def test_a_cluster_with_series_only_under_its_members_fires_on_their_sum(
    aws: AwsClients,
    runtime: Runtime,
    deliverer: Deliverer,
    slack: SlackStandIn,
    now: datetime,
    use_targets: bool,
) -> None:
    create_cluster(aws.rds(), "prod-db", iam=True, exports=["iam-db-auth-error"], instances=2)
    for member, value in (("prod-db-1", 1.0), ("prod-db-2", 2.0)):
        put_series(aws, INSTANCE_DIMENSION, member, INVALID, now, {m: value for m in range(0, 10)})
    calls = count_get_metric_data(aws.cloudwatch())
    runner = digest_pipeline(
        aws,
        runtime.store,
        [invalid_token_watch("prod-db")],
        clock=runtime.clock,
        metrics_delay=timedelta(0),
        targets=with_targets(runtime, use_targets),
    )
    events = run_ticks(runner, deliverer, now, range(1, 6))
    assert events == [(4, "firing", 12)]  # (1 + 2) a minute over both members
    assert "prod-db InvalidToken firing (12)" in slack.posted(C1)[0].body["text"]
    # Each tick: the cluster's own 2 series evaluated (requests, InvalidToken: empty), then its 2
    # members' 4; the tick that fires also reads the chart's hour of InvalidToken, the same way.
    assert calls == [2, 4] * 3 + [2, 4, 1, 2] + [2, 4]


def test_metrics_and_the_digest_read_the_same_series(
    aws: AwsClients, runtime: Runtime, now: datetime
) -> None:
    """A cluster with member series only, a cluster with its own, an instance: `/iamauth metrics`
    (QueryService) and the digest's read (AwsAlertReads) find the same totals."""
    create_cluster(aws.rds(), "members-db", iam=True, exports=[], instances=2)
    create_cluster(aws.rds(), "own-db", iam=True, exports=[], instances=1)
    create_instance(aws.rds(), "solo-pg", iam=True, exports=[])
    start = now - timedelta(minutes=30)
    put_series(aws, INSTANCE_DIMENSION, "members-db-1", PERMISSIONS, start, {1: 2.0, 5: 3.0})
    put_series(aws, INSTANCE_DIMENSION, "members-db-2", PERMISSIONS, start, {2: 4.0})
    put_series(aws, CLUSTER_DIMENSION, "own-db", PERMISSIONS, start, {3: 6.0})
    # Also under its member: the cluster's own series answer, this is not added.
    put_series(aws, INSTANCE_DIMENSION, "own-db-1", PERMISSIONS, start, {3: 6.0})
    put_series(aws, INSTANCE_DIMENSION, "solo-pg", PERMISSIONS, start, {4: 5.0, 6: 1.0})
    # The same name as a cluster dimension holds nothing of the instance's.
    put_series(aws, CLUSTER_DIMENSION, "solo-pg", PERMISSIONS, start, {4: 100.0})
    names = [Address("members-db"), Address("own-db"), Address("solo-pg")]
    shown = {a.cluster: runtime.queries.metrics(a, timedelta(hours=1))[1] for a in names}
    window = shown["own-db"].window
    reads = AwsAlertReads(aws, runtime.targets)
    read = reads.metrics(reads.place_of(names[0]), names, window, METRIC_NAMES)
    digest = {a.cluster: round(read[a][PERMISSIONS].total) for a in names}
    assert digest == {"members-db": 9, "own-db": 6, "solo-pg": 6}
    assert {name: report.total(PERMISSIONS) for name, report in shown.items()} == digest
    assert shown["members-db"].dimension == INSTANCE_DIMENSION
    assert shown["members-db"].instances == ("members-db-1", "members-db-2")
    assert (shown["own-db"].dimension, shown["own-db"].instances) == (CLUSTER_DIMENSION, ())
    assert (shown["solo-pg"].dimension, shown["solo-pg"].instances) == (INSTANCE_DIMENSION, ())


def test_one_metrics_call_for_an_instance_or_a_cluster_with_data(
    aws: AwsClients, now: datetime
) -> None:
    create_cluster(aws.rds(), "own-db", iam=True, exports=[], instances=2)
    create_instance(aws.rds(), "solo-pg", iam=True, exports=[])
    put_series(aws, CLUSTER_DIMENSION, "own-db", INVALID, now, {-3: 1.0})
    put_series(aws, INSTANCE_DIMENSION, "solo-pg", INVALID, now, {-3: 2.0})
    calls = count_get_metric_data(aws.cloudwatch())
    window = Window(now - timedelta(hours=1), now)
    for name, total in (("own-db", 1), ("solo-pg", 2)):
        info = describe_resource(aws.rds(), name)
        assert resource_metrics(aws.cloudwatch(), info, window).total(INVALID) == total
    assert calls == [7, 7]  # no ListMetrics, no follow-up


@pytest.mark.parametrize("clusters", [1, 80])
def test_digest_calls_ceil_2n_over_500_and_one_more_batch_for_members(
    aws: AwsClients, runtime: Runtime, now: datetime, clusters: int
) -> None:
    """N clusters with their own data, an instance, and a cluster with data under its 2 members
    only: the 2 metrics evaluated (requests, InvalidToken) in ceil(2·(N+2)/500) calls, one call
    for the 2 members' 4 series; all fire, so the chart's hour of InvalidToken is read for all,
    the same way: ceil((N+2)/500) calls and one for the members."""
    breach = {m: 3.0 for m in range(-5, 0)}  # 15 >= 10 in the 5m before `now`
    for i in range(clusters):
        create_cluster(aws.rds(), f"db-{i}", iam=True, exports=[], instances=1)
        put_series(aws, CLUSTER_DIMENSION, f"db-{i}", INVALID, now, breach)
    create_instance(aws.rds(), "solo-pg", iam=True, exports=[])
    put_series(aws, INSTANCE_DIMENSION, "solo-pg", INVALID, now, breach)
    create_cluster(aws.rds(), "members-db", iam=True, exports=[], instances=2)
    put_series(aws, INSTANCE_DIMENSION, "members-db-2", INVALID, now, breach)
    names = [f"db-{i}" for i in range(clusters)] + ["solo-pg", "members-db"]
    calls = count_get_metric_data(aws.cloudwatch())
    result = digest_pipeline(
        aws,
        runtime.store,
        [invalid_token_watch(name) for name in names],
        clock=runtime.clock,
        metrics_delay=timedelta(0),
        targets=runtime.targets,
    ).tick(now)
    assert {w.cluster.cluster for w, _ in result.notices} == set(names)
    own, charted = 2 * (clusters + 2), clusters + 2
    assert calls == (
        [min(500, own - k) for k in range(0, own, 500)]
        + [4]
        + [min(500, charted - k) for k in range(0, charted, 500)]
        + [2]
    )
    assert len(calls) == math.ceil(own / 500) + math.ceil(charted / 500) + 2


def test_the_clusters_listing_shows_an_instance_with_its_failures(
    aws: AwsClients, runtime: Runtime, now: datetime
) -> None:
    create_cluster(aws.rds(), "prod-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    create_instance(aws.rds(), "billing-pg", iam=True, exports=[])
    create_instance(aws.rds(), "no-iam-pg", iam=False, exports=[])
    failure = "IamDbAuthConnectionFailure"
    put_series(aws, CLUSTER_DIMENSION, "prod-db", failure, now, {-90: 4.0})
    put_series(aws, INSTANCE_DIMENSION, "billing-pg", failure, now, {-120: 5.0, -60: 6.0})
    listing = list_clusters(runtime.targets, now)
    assert [(r.cluster, r.kind, r.failures_24h) for r in listing.rows] == [
        ("billing-pg", "instance", 11),
        ("prod-db", "cluster", 4),
    ]
    text = str(clusters_message(listing).blocks)
    assert "/billing-pg`: *11* failures in 24h · RDS DB instance · _log export off_" in text
    assert "/prod-db`: *4* failures in 24h · Aurora cluster · log export on" in text
