"""Replies of the watch and silence commands."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import Block

from bot.domain.watches import Watch
from bot.domain.window import format_duration
from bot.service import ClusterListing
from bot.slack.mrkdwn import code, escape, shorten
from bot.slack.render import Message, context, section
from bot.store.repo import AuditEntry
from bot.watching import WatchListing

MAX_LISTED = 40


def _sections(lines: list[str]) -> list[Block]:
    """Lines grouped into sections of at most ~2,900 characters, so none is cut."""
    blocks: list[Block] = []
    chunk: list[str] = []
    for line in lines:
        if chunk and sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    blocks.append(section("\n".join(chunk)))
    return blocks


def watch_line(watch: Watch) -> str:
    source = " _(config file)_" if watch.source == "config" else ""
    resolved = "" if watch.send_resolved else ", no resolved notice"
    return (
        f"`{escape(watch.cluster)}` → <#{watch.channel}>: {escape(watch.describe())}; "
        f"repeat every {format_duration(watch.repeat)}{resolved}{source}"
    )


def watch_saved(watch: Watch, new: bool) -> Message:
    verb = "Now watching" if new else "Updated the watch of"
    return Message(
        text=f"{verb} {watch.cluster}",
        blocks=[section(f":eyes: {verb} {watch_line(watch)}")],
    )


def watches_list(listing: WatchListing, now: datetime) -> Message:
    blocks: list[Block] = []
    if listing.watches:
        lines = [watch_line(w) for w in listing.watches[:MAX_LISTED]]
        if len(listing.watches) > MAX_LISTED:
            lines.append(f"…and {len(listing.watches) - MAX_LISTED} more")
        blocks.append(section("*Watches*\n" + "\n".join(lines)))
    else:
        blocks.append(section("Nothing is watched yet. Try `/iamauth watch prod-db`."))
    if listing.silences:
        silenced = [
            f"`{escape(s.cluster)}` until {s.until:%Y-%m-%d %H:%M} UTC"
            + (f" ({escape(shorten(s.reason, 100))})" if s.reason else "")
            for s in listing.silences.values()
        ]
        blocks.append(section(":no_bell: *Silenced*\n" + "\n".join(silenced)))
    blocks.append(context(f"As of {now:%Y-%m-%d %H:%M} UTC"))
    return Message(text=f"{len(listing.watches)} watches", blocks=blocks)


def plain(text: str) -> Message:
    return Message(text=text, blocks=[section(text)])


def audit_line(entry: AuditEntry) -> str:
    """One audit entry; the action is the person's own text, shown as code."""
    detail = f" — {escape(shorten(entry.detail, 200))}" if entry.detail else ""
    return (
        f"{entry.at:%Y-%m-%d %H:%M:%S} {code(entry.user_id, 20)} in {code(entry.channel_id, 20)}: "
        f"{code(entry.action, 200)} *{entry.outcome}*{detail}"
    )


def audit_list(entries: list[AuditEntry]) -> Message:
    if not entries:
        return plain("The audit log is empty.")
    blocks = _sections([audit_line(e) for e in entries])
    return Message(text=f"The last {len(entries)} audit entries", blocks=blocks[:49])


MAX_CLUSTERS_LISTED = 60


def clusters_message(listing: ClusterListing) -> Message:
    rows = listing.rows
    lines = [
        f"`{escape(r.place)}/{escape(r.cluster)}`: *{r.failures_24h:,}* failures in 24h · "
        + ("log export on" if r.log_export_on else "_log export off_")
        for r in rows[:MAX_CLUSTERS_LISTED]
    ]
    if len(rows) > MAX_CLUSTERS_LISTED:
        lines.append(f"…and {len(rows) - MAX_CLUSTERS_LISTED} more")
    blocks = _sections(lines or ["No cluster with IAM database authentication enabled was found."])
    if listing.problems:
        blocks.append(section(":warning: " + escape("; ".join(listing.problems))))
    return Message(
        text=f"{len(rows)} clusters with IAM auth",
        blocks=[section("*Clusters with IAM auth*"), *blocks][:49],
    )
