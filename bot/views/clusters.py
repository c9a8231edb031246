"""The `/iamauth clusters` answer: every cluster with IAM auth, its log export and failures."""

from __future__ import annotations

from bot.services.clusters import ClusterListing
from bot.views.blocks import MAX_BLOCKS, Message, section, sections
from bot.views.mrkdwn import escape

MAX_CLUSTERS_LISTED = 60


NO_CLUSTERS = "No cluster with IAM database authentication enabled was found."


def clusters_message(listing: ClusterListing) -> Message:
    rows = listing.rows
    lines = [
        f"`{escape(r.place)}/{escape(r.cluster)}`: *{r.failures_24h:,}* failures in 24h · "
        + ("log export on" if r.log_export_on else "_log export off_")
        for r in rows
    ]
    problems = (
        [section(":warning: " + escape("; ".join(listing.problems)))] if listing.problems else []
    )
    blocks = sections(
        ["*Clusters with IAM auth*", *(lines or [NO_CLUSTERS])],
        MAX_BLOCKS - len(problems),
        max_lines=1 + MAX_CLUSTERS_LISTED,
    )
    return Message(text=f"{len(rows)} clusters with IAM auth", blocks=[*blocks, *problems])
