"""Alert messages edited in place (bot/services/alerting/in_place.py), on in-memory ports with the
real Block Kit renderer: which rows a tick writes for a new episode, for news of one, and for
counts that only moved."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

from bot.adapters.store.repo import POST, REPLY, UPDATE, Digest
from bot.domain.alerts import AlertState
from bot.domain.metrics import FAMILY_METRICS
from bot.domain.records import Family
from bot.services.alerting.in_place import PARTS_PER_MESSAGE, REFRESH_EVERY
from bot.services.alerting.pipeline import DigestPipeline
from bot.services.cluster_identity import ClusterIdentity
from bot.views.digest import AlertMessageView, digest_payload
from tests.unit.alerting.fakes import (
    END,
    FIVE_IN_5M,
    NOW,
    ONE_IN_15M,
    MemoryAws,
    MemoryStore,
    breaching,
    per_minute,
    watch,
)

C1 = "C0ALERTS01"
ALICE = "U0ALICE001"


def pipeline(store: MemoryStore, aws: MemoryAws) -> DigestPipeline:
    keys = (f"m{n}" for n in itertools.count(1))
    return DigestPipeline(
        store,
        aws,
        digest_payload,
        identity=ClusterIdentity(None),
        clock=lambda: NOW,
        messages=AlertMessageView(),
        new_key=lambda: next(keys),
    )


def kinds(digests: list[Digest]) -> list[tuple[str, str | None]]:
    return [(d.kind, d.message) for d in digests]


def test_clusters_firing_together_share_messages_of_at_most_ten() -> None:
    watches = [watch(f"db-{n:02d}", C1) for n in range(PARTS_PER_MESSAGE + 1)]
    aws = MemoryAws(series={w.cluster: breaching() for w in watches})
    aws.series[watches[-1].cluster] = breaching(per=9.0)  # the hardest: the digest's chart
    store = MemoryStore(watches=watches)
    pipeline(store, aws).tick()
    assert kinds(store.outbox) == [(POST, "m1"), (POST, "m2")]
    first, second = store.outbox
    assert first.chart is None  # the chart goes with the message showing its cluster
    assert second.chart is not None
    assert second.chart["cluster"] == "db-10"
    assert [len(store.messages[k].parts) for k in ("m1", "m2")] == [PARTS_PER_MESSAGE, 1]
    named = {key[0]: state.message for key, state in store.states.items()}
    assert named == {w.key: "m1" for w in watches[:-1]} | {watches[-1].key: "m2"}


def test_news_of_an_episode_edits_its_message_and_is_told_in_its_thread() -> None:
    prod = watch("prod-db", C1)
    aws = MemoryAws(series={prod.cluster: breaching(per=3.0)})  # 15 in 5 min
    store = MemoryStore(watches=[prod])
    runner = pipeline(store, aws)
    runner.tick()
    aws.series[prod.cluster] = breaching(per=8.0)  # 32 in the window a minute later: doubled
    runner.tick(NOW + timedelta(minutes=1))
    assert kinds(store.outbox) == [(POST, "m1"), (UPDATE, "m1"), (REPLY, "m1")]
    edit, reply = store.outbox[1:]
    assert edit.text == "IAM auth alerts: prod-db InvalidToken escalated (32)"
    assert "escalated from 15: *32*" in str(edit.blocks)
    assert reply.text == edit.text  # the news, in the thread
    (part,) = store.messages["m1"].parts
    assert part.counts == {Family.INVALID_TOKEN.value: 32}
    # Resolved: the message says so, without buttons; the episode names no message any more.
    aws.series[prod.cluster] = {}
    runner.tick(NOW + timedelta(minutes=2))
    assert kinds(store.outbox[3:]) == [(UPDATE, "m1"), (REPLY, "m1")]
    assert store.outbox[3].text.startswith("IAM auth alerts resolved: prod-db InvalidToken")
    assert "actions" not in str(store.outbox[3].blocks)
    assert store.states[(prod.key, Family.INVALID_TOKEN)] == AlertState()
    assert store.messages["m1"].parts[0].counts == {}


def test_a_family_that_fires_later_joins_its_clusters_message() -> None:
    prod = watch("prod-db", C1, FIVE_IN_5M, ONE_IN_15M)
    aws = MemoryAws(series={prod.cluster: breaching()})
    store = MemoryStore(watches=[prod])
    runner = pipeline(store, aws)
    runner.tick()
    aws.series[prod.cluster] = breaching() | breaching(Family.INSUFFICIENT_PERMISSIONS)
    runner.tick(NOW + timedelta(minutes=1))
    assert kinds(store.outbox) == [(POST, "m1"), (UPDATE, "m1"), (REPLY, "m1")]
    assert store.states[(prod.key, Family.INSUFFICIENT_PERMISSIONS)].message == "m1"
    lines = str(store.outbox[1].blocks)
    assert "*InvalidToken* firing" in lines
    assert "*InsufficientPermissions* firing" in lines


def test_counts_that_only_move_edit_the_message_at_most_every_refresh_period() -> None:
    prod = watch("prod-db", C1)
    # 3 a minute before END, 4 a minute from END on: no escalation (20 < 2 × 15).
    counts = {m: (3.0 if m < 0 else 4.0) for m in range(-30, 30)}
    series = {FAMILY_METRICS[Family.INVALID_TOKEN]: per_minute(END, counts)}
    aws = MemoryAws(series={prod.cluster: series})
    store = MemoryStore(watches=[prod])
    runner = pipeline(store, aws)
    runner.tick()
    store.states[(prod.key, Family.INVALID_TOKEN)] = AlertState(
        **{**store.states[(prod.key, Family.INVALID_TOKEN)].__dict__, "acknowledged_by": ALICE,
           "acknowledged_at": NOW}
    )  # fmt: skip
    runner.tick(NOW + timedelta(minutes=1))  # 16 now: too soon to edit for that alone
    assert kinds(store.outbox) == [(POST, "m1")]
    runner.tick(NOW + REFRESH_EVERY)  # 20: edited, nobody told
    assert kinds(store.outbox) == [(POST, "m1"), (UPDATE, "m1")]
    edit = str(store.outbox[1].blocks)
    assert "*20* failures" in edit
    assert f"Acknowledged by <@{ALICE}>" in edit  # who is on it stays shown
    runner.tick(NOW + REFRESH_EVERY + timedelta(minutes=1))  # still 20: nothing to edit
    assert len(store.outbox) == 2


def test_an_acknowledgement_the_message_does_not_show_is_shown_at_the_next_refresh() -> None:
    prod = watch("prod-db", C1)
    steady = {
        FAMILY_METRICS[Family.INVALID_TOKEN]: per_minute(END, dict.fromkeys(range(-30, 30), 3.0))
    }
    aws = MemoryAws(series={prod.cluster: steady})  # 15 in every 5 minutes: nothing moves
    store = MemoryStore(watches=[prod])
    runner = pipeline(store, aws)
    runner.tick()
    # Acknowledged, but the message does not show it (a tick's edit raced the click's own).
    key = (prod.key, Family.INVALID_TOKEN)
    store.states[key] = replace(store.states[key], acknowledged_by=ALICE, acknowledged_at=NOW)
    runner.tick(NOW + timedelta(minutes=1))  # too soon after the last edit
    assert kinds(store.outbox) == [(POST, "m1")]
    runner.tick(NOW + REFRESH_EVERY)
    assert kinds(store.outbox) == [(POST, "m1"), (UPDATE, "m1")]
    assert f"Acknowledged by <@{ALICE}>" in str(store.outbox[1].blocks)
    runner.tick(NOW + REFRESH_EVERY * 2)
    assert len(store.outbox) == 2  # shown now: nothing more to edit
