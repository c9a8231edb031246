"""A digest's log detail names the workloads behind the failures' client addresses, read after
the detail itself and only where the iam log's events were kept to match the engine log."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from bot.domain.address import parse_address
from bot.domain.alerts import Notice, NoticeKind
from bot.domain.records import AuthFailure
from bot.domain.summary import FailureSummary
from bot.services.alerting.enrich import enrich, read_workloads
from bot.services.alerting.group import ChannelDigest, ClusterNotices
from bot.views.digest import digest_blocks
from tests.unit.alerting.fakes import END, FIVE_IN_5M, MemoryAws

PROD, ORDERS = parse_address("prod-db"), parse_address("orders-db")


def firing(cluster: object) -> ClusterNotices:
    notice = Notice(NoticeKind.FIRING, FIVE_IN_5M.family, 15, FIVE_IN_5M, END, END)
    return ClusterNotices(parse_address(str(cluster)), (notice,))


def kept(user: str = "app") -> FailureSummary:
    """A summary of one failure whose event was kept (for matching)."""
    summary = FailureSummary(events=[])
    summary.add(AuthFailure(END, "ERROR", user, "r", 400, "InvalidToken"), raw=user)
    return summary


def test_the_top_workloads_join_the_detail_where_events_were_kept() -> None:
    aws = MemoryAws(
        summaries={PROD: kept(), ORDERS: FailureSummary()},
        workloads={PROD: [("ECS service checkout (cluster prod)", 98)], ORDERS: [("x", 1)]},
    )
    [enriched] = enrich(aws, [ChannelDigest("C1", (firing(PROD), firing(ORDERS)))], {}, END)
    prod, orders = enriched.clusters
    assert prod.workloads == (("ECS service checkout (cluster prod)", 98),)
    assert orders.workloads == ()  # its events were not kept: nothing to match


def test_no_budget_left_means_no_workloads_not_a_lost_detail() -> None:
    start = END - timedelta(minutes=5)
    aws = MemoryAws(workloads={PROD: [("EC2 i-1", 3)]})
    assert read_workloads(aws, {(PROD, start): (kept(), True)}, END, budget=0.0) == {}
    assert read_workloads(aws, {(PROD, start): (kept(), True)}, END, budget=5.0) == {
        (PROD, start): (("EC2 i-1", 3),)
    }


def test_the_digest_shows_them_escaped() -> None:
    item = replace(
        firing(PROD),
        summary=kept(),
        log_export_on=True,
        log_window="03:55–04:00 UTC",
        workloads=(("EC2 i-0abc (<!here> web, ASG web-asg)", 7),),
    )
    _, blocks = digest_blocks([item], END)
    text = json.dumps([b.to_dict() for b in blocks])
    assert "from EC2 i-0abc (&lt;!here&gt; web, ASG web-asg) 7" in text
    assert "<!here>" not in text
