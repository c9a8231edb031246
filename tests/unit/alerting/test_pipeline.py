"""The digest use case end to end on in-memory ports: what a tick writes, leaves out, and owes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.adapters.store.fence import Fence, LeaseLost
from bot.domain.access import AccessPolicy, ClusterAccess
from bot.domain.address import parse_address
from bot.domain.alerts import AlertState, NoticeKind, Status
from bot.domain.chart_spec import CHART_SPAN
from bot.domain.metrics import FAMILY_METRICS, REQUESTS_METRIC
from bot.domain.records import Family
from bot.domain.watches import Watch
from bot.domain.window import Window
from bot.services.alerting.pipeline import DigestPipeline
from bot.services.cluster_identity import ClusterIdentity
from bot.services.served_watches import NOT_READABLE
from tests.unit.alerting.fakes import (
    END,
    NOW,
    MemoryAws,
    MemoryStore,
    RecordingRender,
    breaching,
    per_minute,
    watch,
)

C1, C2 = "C0ALERTS01", "C0ALERTS02"


def pipeline(
    store: MemoryStore,
    aws: MemoryAws,
    config: list[Watch] | None = None,
    *,
    render: RecordingRender | None = None,
    policy: AccessPolicy | None = None,
    budget: float = 5.0,
) -> DigestPipeline:
    return DigestPipeline(
        store,
        aws,
        render or RecordingRender(),
        identity=ClusterIdentity(None),
        clock=lambda: NOW,
        config_watches=config or [],
        policy=policy,
        detail_budget_seconds=budget,
    )


def test_a_breach_becomes_one_rendered_digest_per_channel_with_its_states() -> None:
    beta, alpha, gamma = watch("beta-db", C1), watch("alpha-db", C1), watch("gamma-db", C2)
    aws = MemoryAws(series={w.cluster: breaching() for w in (alpha, beta, gamma)})
    store, render = MemoryStore(watches=[gamma]), RecordingRender()
    result = pipeline(store, aws, [beta, alpha], render=render).tick()

    assert [d.channel for d in store.outbox] == [C1, C2]
    assert store.outbox[0].text == (
        "alpha-db InvalidToken firing; beta-db InvalidToken firing"  # listed by address
    )
    [(listed, evaluated_to), _] = render.given
    assert evaluated_to == END
    assert all(item.log_export_on is True for item in listed)  # enriched before rendering
    chart = store.outbox[0].chart
    assert chart is not None
    assert chart["cluster"] == "beta-db"  # of charts breaching alike, the first the tick met
    assert (result.outbox_ids, result.clusters) == ([1, 2], 3)
    assert result.evaluated is not None
    assert result.evaluated.end == END
    assert len(result.notices) == 3
    assert {key for key, _ in store.states} == {w.key for w in (alpha, beta, gamma)}
    # One read per place of what the thresholds evaluate (their lookback, their families and the
    # requests); then, as all three fired, one of the charts' longer history of the family only.
    assert aws.metric_reads == [("home", ("alpha-db", "beta-db", "gamma-db"))] * 2
    end = result.evaluated.end
    invalid = FAMILY_METRICS[Family.INVALID_TOKEN]
    assert aws.metric_windows == [
        (Window(end - timedelta(minutes=5), end), (REQUESTS_METRIC, invalid)),
        (Window(end - CHART_SPAN - timedelta(minutes=5), end), (invalid,)),
    ]
    assert store.held_audit_writes == 1


def test_a_place_that_cannot_be_read_skips_only_its_watches() -> None:
    home, lost = watch("home-db", C1), watch("123456789012/eu-west-1/eu-db", C2)
    unplaced = watch("twice-db", C2)
    aws = MemoryAws(
        series={w.cluster: breaching() for w in (home, lost, unplaced)},
        places={lost.cluster: "123456789012/eu-west-1"},
        down={"123456789012/eu-west-1"},
        unplaced={unplaced.cluster},
    )
    firing = AlertState(Status.FIRING, END - timedelta(hours=1), NOW - timedelta(hours=1), 15, 15)
    store = MemoryStore(watches=[home, lost, unplaced])
    store.states[(lost.key, Family.INVALID_TOKEN)] = firing

    result = pipeline(store, aws).tick()
    assert [(w, n.kind) for w, n in result.notices] == [(home, NoticeKind.FIRING)]
    assert store.states[(lost.key, Family.INVALID_TOKEN)] == firing  # no "resolved" of no data
    assert [d.channel for d in store.outbox] == [C1]


def test_watches_left_out_are_reported_and_keep_their_states_stale_ones_go() -> None:
    policy = AccessPolicy(
        enforced=True,
        channels=frozenset({C1}),
        clusters={"secret-db": ClusterAccess(channels=frozenset({C2}))},
    )
    secret = watch("secret-db", C1)
    kept = AlertState(Status.FIRING, END, NOW, 15, 15)
    store = MemoryStore(
        watches=[secret],
        states={
            (secret.key, Family.INVALID_TOKEN): kept,
            ("slack:gone-db:C0ALERTS01", Family.INVALID_TOKEN): kept,
        },
    )
    result = pipeline(store, MemoryAws(), policy=policy).tick()
    assert [(s.watch, s.reason) for s in result.skipped] == [(secret, NOT_READABLE)]
    assert result.notices == []
    assert store.states == {(secret.key, Family.INVALID_TOKEN): kept}  # the stale one deleted
    assert (store.commits, store.outbox) == (1, [])


def test_the_fence_goes_with_the_commit_and_a_lost_lease_writes_nothing() -> None:
    prod = watch("prod-db")
    aws = MemoryAws(series={prod.cluster: breaching()})
    store = MemoryStore(watches=[prod], epoch=2)
    stale = Fence("digest", "host-1", 1, timedelta(minutes=2))
    with pytest.raises(LeaseLost):
        pipeline(store, aws).tick(fence=stale)
    assert (store.outbox, store.states, store.commits) == ([], {}, 0)
    held = Fence("digest", "host-2", 2, timedelta(minutes=2))
    assert pipeline(store, aws).tick(fence=held).outbox_ids == [1]


def test_an_alert_that_ends_during_a_silence_is_resolved_when_the_silence_ends() -> None:
    prod = watch("prod-db")
    aws = MemoryAws(series={prod.cluster: breaching()})
    store = MemoryStore(watches=[prod])
    digests = pipeline(store, aws)
    assert [n.kind for _, n in digests.tick(NOW).notices] == [NoticeKind.FIRING]

    store.silences[parse_address("prod-db")] = NOW + timedelta(minutes=30)
    quiet = {FAMILY_METRICS[Family.INVALID_TOKEN]: per_minute(END, {})}
    aws.series[prod.cluster] = quiet
    for minute in (10, 20):
        assert digests.tick(NOW + timedelta(minutes=minute)).notices == []
    ended = digests.tick(NOW + timedelta(minutes=31)).notices
    assert [n.kind for _, n in ended] == [NoticeKind.RESOLVED]
    assert store.outbox[-1].text == "prod-db InvalidToken resolved"
    assert digests.tick(NOW + timedelta(minutes=32)).notices == []  # told once


def test_a_log_detail_past_the_budget_is_left_out_and_the_digest_is_on_time() -> None:
    slow, quick = watch("slow-db", C1), watch("quick-db", C2)
    aws = MemoryAws(
        series={w.cluster: breaching() for w in (slow, quick)}, log_seconds={slow.cluster: 3.0}
    )
    store, render = MemoryStore(watches=[slow, quick]), RecordingRender()
    pipeline(store, aws, render=render, budget=0.5).tick()
    assert [d.channel for d in store.outbox] == [C1, C2]
    details = {str(items[0].cluster): items[0].log_export_on for items, _ in render.given}
    assert details == {"slow-db": None, "quick-db": True}


def test_no_watch_no_read() -> None:
    aws, store = MemoryAws(), MemoryStore()
    result = pipeline(store, aws).tick()
    assert (result.notices, result.outbox_ids, aws.metric_reads, store.commits) == ([], [], [], 0)
