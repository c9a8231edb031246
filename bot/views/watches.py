"""Replies of the watch and silence commands."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import Block

from bot.adapters.store.repo import AuditEntry
from bot.domain.watches import Watch
from bot.domain.window import format_duration
from bot.services.clusters import ClusterListing
from bot.services.watches import WatchListing
from bot.views.blocks import MAX_BLOCKS, Message, context, section
from bot.views.mrkdwn import code, escape, quoted, shorten

MAX_LISTED = 100  # watches; a longer list is a config file's job to show
# Of Slack's 3,000 characters a section: room for the "…and N more" line.
SECTION_CHARS = 2900


def _sections(lines: Sequence[str], max_sections: int, max_lines: int | None = None) -> list[Block]:
    """Lines grouped into at most `max_sections` sections, cut only between lines; the last line
    counts what did not fit (or was past `max_lines`)."""
    chunks: list[list[str]] = [[]]
    size = 0
    for line in lines[:max_lines]:
        cut = shorten(line, SECTION_CHARS)  # one overlong line is cut, never its neighbours
        if chunks[-1] and size + len(cut) > SECTION_CHARS:
            if len(chunks) == max_sections:
                break
            chunks.append([])
            size = 0
        chunks[-1].append(cut)
        size += len(cut) + 1
    left_out = len(lines) - sum(len(chunk) for chunk in chunks)
    if left_out:
        chunks[-1].append(f"…and {left_out:,} more")
    return [section("\n".join(chunk)) for chunk in chunks if chunk]


def watch_line(watch: Watch, not_sent: str = "") -> str:
    source = " _(config file)_" if watch.source == "config" else ""
    resolved = "" if watch.send_resolved else ", no resolved notice"
    # Why the digest leaves the watch out (bot/services/watches.py `deliverable`), if it does.
    left_out = f" :no_entry: _not sent: {escape(not_sent)}_" if not_sent else ""
    return (
        f"`{escape(watch.cluster)}` → <#{watch.channel}>: {escape(watch.describe())}; "
        f"repeat every {format_duration(watch.repeat)}{resolved}{source}{left_out}"
    )


def watch_saved(watch: Watch, new: bool) -> Message:
    verb = "Now watching" if new else "Updated the watch of"
    return Message(
        text=f"{verb} {watch.cluster}",
        blocks=[section(f":eyes: {verb} {watch_line(watch)}")],
    )


def watches_list(listing: WatchListing, now: datetime) -> Message:
    silenced = [
        f"`{escape(s.cluster)}` until {s.until:%Y-%m-%d %H:%M} UTC"
        + (f" ({quoted(s.reason, 100)})" if s.reason else "")
        for s in listing.silences.values()
    ]
    silence_blocks = _sections([":no_bell: *Silenced*", *silenced], 10) if silenced else []
    if listing.watches:
        lines = [
            "*Watches*",
            *(watch_line(w, listing.not_sent.get(w.key, "")) for w in listing.watches),
        ]
        # Every block but the silences and the closing context may list watches.
        room = MAX_BLOCKS - len(silence_blocks) - 1
        blocks = _sections(lines, room, max_lines=1 + MAX_LISTED)
    else:
        blocks = [section("Nothing is watched yet. Try `/iamauth watch prod-db`.")]
    blocks += [*silence_blocks, context(f"As of {now:%Y-%m-%d %H:%M} UTC")]
    return Message(text=f"{len(listing.watches)} watches", blocks=blocks)


def plain(text: str) -> Message:
    return Message(text=text, blocks=[section(text)])


def audit_line(entry: AuditEntry) -> str:
    """One audit entry; the action is the person's own text, shown as code."""
    detail = f" — {quoted(entry.detail, 200)}" if entry.detail else ""
    return (
        f"{entry.at:%Y-%m-%d %H:%M:%S} {code(entry.user_id, 20)} in {code(entry.channel_id, 20)}: "
        f"{code(entry.action, 200)} *{entry.outcome}*{detail}"
    )


def audit_list(entries: list[AuditEntry]) -> Message:
    if not entries:
        return plain("The audit log is empty.")
    blocks = _sections([audit_line(e) for e in entries], MAX_BLOCKS)
    return Message(text=f"The last {len(entries)} audit entries", blocks=blocks)


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
    blocks = _sections(
        ["*Clusters with IAM auth*", *(lines or [NO_CLUSTERS])],
        MAX_BLOCKS - len(problems),
        max_lines=1 + MAX_CLUSTERS_LISTED,
    )
    return Message(text=f"{len(rows)} clusters with IAM auth", blocks=[*blocks, *problems])
