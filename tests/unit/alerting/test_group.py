"""The group stage: one digest per channel, each cluster's notices together."""

from __future__ import annotations

from bot.domain.records import Family
from bot.services.alerting.evaluate import evaluate
from bot.services.alerting.group import group
from tests.unit.alerting.fakes import END, FIVE_IN_5M, NOW, ONE_IN_15M, breaching, watch


def test_one_digest_per_channel_in_the_order_the_tick_met_them() -> None:
    beta = watch("beta-db", "C0ALERTS01", FIVE_IN_5M, ONE_IN_15M)
    gamma = watch("gamma-db", "C0ALERTS02")
    alpha = watch("alpha-db", "C0ALERTS01")
    both = breaching() | breaching(Family.INSUFFICIENT_PERMISSIONS)
    metrics = {beta.cluster: both, gamma.cluster: breaching(), alpha.cluster: breaching()}
    notices = evaluate([beta, gamma, alpha], {}, metrics, set(), END, NOW).notices

    first, second = group(notices)
    assert (first.channel, second.channel) == ("C0ALERTS01", "C0ALERTS02")
    assert [str(c.cluster) for c in first.clusters] == ["beta-db", "alpha-db"]
    assert [str(c.cluster) for c in first.listed()] == ["alpha-db", "beta-db"]  # as shown
    [beta_notices, _] = first.clusters
    assert [n.family for n in beta_notices.notices] == [
        Family.INVALID_TOKEN,
        Family.INSUFFICIENT_PERMISSIONS,
    ]
    assert [str(c.cluster) for c in second.clusters] == ["gamma-db"]
    assert first.chart is None  # enrich's to pick


def test_no_notices_no_digest() -> None:
    assert group([]) == []
