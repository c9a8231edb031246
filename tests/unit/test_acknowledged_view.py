"""Who acknowledged a cluster, shown in the digest: one line above that cluster's buttons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.address import Address
from bot.domain.alerts import Notice, NoticeKind, Threshold
from bot.domain.records import Family
from bot.services.alerting.group import ClusterNotices
from bot.views.acknowledged import with_acknowledgement
from bot.views.digest import ACKNOWLEDGE_ACTION, digest_payload

T0 = datetime(2026, 11, 30, 16, 5, tzinfo=UTC)
FIVE = Threshold(Family.INVALID_TOKEN, 5, timedelta(minutes=5))


def digest(*clusters: str) -> list[dict[str, Any]]:
    items = [
        ClusterNotices(
            Address(c), (Notice(NoticeKind.FIRING, Family.INVALID_TOKEN, 7, FIVE, T0, T0),)
        )
        for c in clusters
    ]
    return digest_payload(items, T0)[1]


def lines_above_buttons(blocks: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [str(e["text"]) for e in blocks[i - 1]["elements"]]
        for i, b in enumerate(blocks)
        if b["type"] == "actions"
    ]


def test_the_line_goes_above_the_clusters_buttons_and_replaces_an_earlier_one() -> None:
    blocks = digest("alpha-db", "beta-db")
    once = with_acknowledgement(blocks, ACKNOWLEDGE_ACTION, "beta-db", "U0ALICE001", T0)
    assert once is not None
    twice = with_acknowledgement(once, ACKNOWLEDGE_ACTION, "beta-db", "U0BOB00001", T0)
    assert twice is not None
    alpha, beta = lines_above_buttons(twice)
    assert not any("Acknowledged" in line for line in alpha)
    assert beta[-1] == ":eyes: Acknowledged by <@U0BOB00001> at 16:05 UTC"
    assert sum("Acknowledged" in line for line in beta) == 1
    assert len(twice) == len(blocks)


def test_nothing_to_show_it_in() -> None:
    blocks = digest("alpha-db")
    assert with_acknowledgement(blocks, ACKNOWLEDGE_ACTION, "other-db", "U0ALICE001", T0) is None
    assert with_acknowledgement(blocks, ACKNOWLEDGE_ACTION, "alpha-db", "", T0) is None
