"""Replies of `/iamauth watch`, `unwatch` and `watches`, and the words for a refused watch or
silence (bot/services/watches.py refuses with data)."""

from __future__ import annotations

from datetime import datetime

from bot.domain.watches import Watch, WatchError
from bot.domain.window import format_duration
from bot.services.served_watches import origin
from bot.services.watches import (
    UndecidedIdentity,
    Unwatched,
    WatchedAsTwin,
    WatchedInConfig,
    WatchListing,
)
from bot.views.blocks import MAX_BLOCKS, Message, context, plain, section, sections
from bot.views.mrkdwn import escape, quoted

MAX_LISTED = 100  # watches; a longer list is a config file's job to show


def watch_line(watch: Watch, not_sent: str = "") -> str:
    source = " _(config file)_" if watch.source == "config" else ""
    resolved = "" if watch.send_resolved else ", no resolved notice"
    # Why the digest leaves the watch out (bot/services/watches.py `deliverable`), if it does.
    left_out = f" :no_entry: _not sent: {escape(not_sent)}_" if not_sent else ""
    return (
        f"`{escape(str(watch.cluster))}` → <#{watch.channel}>: {escape(watch.describe())}; "
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
        f"`{escape(str(s.cluster))}` until {s.until:%Y-%m-%d %H:%M} UTC"
        + (f" ({quoted(s.reason, 100)})" if s.reason else "")
        for s in listing.silences.values()
    ]
    silence_blocks = sections([":no_bell: *Silenced*", *silenced], 10) if silenced else []
    if listing.watches:
        lines = [
            "*Watches*",
            *(watch_line(w, listing.not_sent.get(w.key, "")) for w in listing.watches),
        ]
        # Every block but the silences and the closing context may list watches.
        room = MAX_BLOCKS - len(silence_blocks) - 1
        blocks = sections(lines, room, max_lines=1 + MAX_LISTED)
    else:
        blocks = [section("Nothing is watched yet. Try `/iamauth watch prod-db`.")]
    blocks += [*silence_blocks, context(f"As of {now:%Y-%m-%d %H:%M} UTC")]
    return Message(text=f"{len(listing.watches)} watches", blocks=blocks)


def watch_refusal(error: WatchError) -> str:
    """Why a watch, unwatch or silence was refused, for the person who asked."""
    if isinstance(error, UndecidedIdentity):
        return (
            f"Could not tell whether `{error.cluster}` is a cluster already watched for "
            f"<#{error.channel}>: {error.reason} Nothing was changed."
        )
    if isinstance(error, WatchedInConfig):
        named = "" if error.watch.cluster == error.cluster else f" as `{error.watch.cluster}`"
        return (
            f"`{error.cluster}` is watched for <#{error.channel}>{named} in the config file; "
            f"{error.action} it there."
        )
    if isinstance(error, WatchedAsTwin):
        watch, twin = error.watch, error.twin
        return (
            f"`{watch.cluster}` is the cluster `{twin.cluster}`, already watched for "
            f"<#{watch.channel}> ({origin(twin)}): change that watch with `/iamauth watch "
            f"{twin.cluster} …`, or `/iamauth unwatch {twin.cluster}` first."
        )
    return str(error)


def unwatch_reply(unwatched: Unwatched, cluster: str, channel: str) -> Message:
    """`cluster` as the person named it; `unwatched.cluster` as the removed watch did."""
    if not unwatched.removed:
        return plain(f"`{cluster}` was not watched for <#{channel}>.")
    told = (
        " The channel is told that the alerts it heard firing are followed no more."
        if unwatched.told
        else ""
    )
    return plain(f"Stopped watching `{unwatched.cluster}` for <#{channel}>.{told}")
