"""The evaluate stage: plain values in, state changes and notices out."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.address import parse_address
from bot.domain.alerts import AlertState, NoticeKind, Status
from bot.domain.records import Family
from bot.services.alerting.evaluate import evaluate
from tests.unit.alerting.fakes import END, FIVE_IN_5M, NOW, ONE_IN_15M, breaching, watch

PLACED = "123456789012/us-east-1/prod-db"


def test_a_breach_fires_and_its_state_is_to_be_written() -> None:
    prod = watch("prod-db")
    result = evaluate([prod], {}, {prod.cluster: breaching()}, set(), END, NOW)
    [(noticed, notice)] = result.notices
    assert noticed == prod
    assert (notice.kind, notice.family, notice.count) == (
        NoticeKind.FIRING,
        Family.INVALID_TOKEN,
        15,
    )
    assert result.changed[(prod.key, Family.INVALID_TOKEN)].status is Status.FIRING


def test_each_family_of_a_watch_is_its_own_alert() -> None:
    prod = watch("prod-db", "C0ALERTS01", FIVE_IN_5M, ONE_IN_15M)
    metrics = {prod.cluster: breaching(Family.INSUFFICIENT_PERMISSIONS)}
    result = evaluate([prod], {}, metrics, set(), END, NOW)
    assert [n.family for _, n in result.notices] == [Family.INSUFFICIENT_PERMISSIONS]
    assert list(result.changed) == [(prod.key, Family.INSUFFICIENT_PERMISSIONS)]


def test_a_cluster_without_metrics_is_neither_fired_nor_resolved() -> None:
    prod = watch("prod-db")
    firing = {(prod.key, Family.INVALID_TOKEN): AlertState(Status.FIRING, END, NOW, 15, 15)}
    result = evaluate([prod], firing, {}, set(), END, NOW)
    assert (result.notices, result.changed) == ([], {})


def test_a_quiet_cluster_changes_nothing() -> None:
    prod = watch("prod-db")
    result = evaluate([prod], {}, {prod.cluster: {}}, set(), END, NOW)
    assert (result.notices, result.changed) == ([], {})


def test_a_short_name_silences_every_place_an_address_only_its_own() -> None:
    short, placed = watch("prod-db"), watch(PLACED, "C0ALERTS02")
    metrics = {short.cluster: breaching(), placed.cluster: breaching()}
    by_name = evaluate([short, placed], {}, metrics, {parse_address("prod-db")}, END, NOW)
    assert by_name.notices == []
    assert len(by_name.changed) == 2  # still evaluated: firing, unannounced
    by_place = evaluate([short, placed], {}, metrics, {parse_address(PLACED)}, END, NOW)
    assert [w for w, _ in by_place.notices] == [short]


def test_a_repeat_waits_for_the_watchs_own_interval() -> None:
    prod = watch("prod-db", repeat="10m")
    told = AlertState(Status.FIRING, END, NOW - timedelta(minutes=9), 15, 15)
    states = {(prod.key, Family.INVALID_TOKEN): told}
    metrics = {prod.cluster: breaching()}
    assert evaluate([prod], states, metrics, set(), END, NOW).notices == []
    later = evaluate([prod], states, metrics, set(), END, NOW + timedelta(minutes=1))
    assert [n.kind for _, n in later.notices] == [NoticeKind.REPEAT]
