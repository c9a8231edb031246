"""The `/iamauth clusters` answer: every Aurora cluster and RDS DB instance with IAM auth, its
kind, its log export and its failures."""

from __future__ import annotations

from bot.domain.cluster import INSTANCE
from bot.services.clusters import ClusterListing, ClusterRow
from bot.views.blocks import MAX_BLOCKS, Message, section, sections
from bot.views.mrkdwn import escape

MAX_CLUSTERS_LISTED = 60


NO_CLUSTERS = (
    "No Aurora cluster or RDS DB instance with IAM database authentication enabled was found."
)


def kind_label(row: ClusterRow) -> str:
    return "RDS DB instance" if row.kind == INSTANCE else "Aurora cluster"


def clusters_message(listing: ClusterListing) -> Message:
    rows = listing.rows
    lines = [
        f"`{escape(r.place)}/{escape(r.cluster)}`: *{r.failures_24h:,}* failures in 24h · "
        + kind_label(r)
        + " · "
        + ("log export on" if r.log_export_on else "_log export off_")
        for r in rows
    ]
    problems = (
        [section(":warning: " + escape("; ".join(listing.problems)))] if listing.problems else []
    )
    blocks = sections(
        ["*Clusters and DB instances with IAM auth*", *(lines or [NO_CLUSTERS])],
        MAX_BLOCKS - len(problems),
        max_lines=1 + MAX_CLUSTERS_LISTED,
    )
    return Message(
        text=f"{len(rows)} clusters and DB instances with IAM auth", blocks=[*blocks, *problems]
    )
