"""`/iamauth watch`, `unwatch` and `watches`. A watch sends the cluster's digests to a channel, so
that channel must be one where the cluster may be read; the list shows only the watches and
silences of clusters that may be read where it is asked for (bot/domain/access.py), and marks the
watches the digest leaves out (a channel that may not read its cluster, a second watch of it)."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.access import Kind
from bot.domain.alerts import DEFAULT_REPEAT
from bot.domain.watches import (
    DEFAULT_THRESHOLDS,
    Watch,
    WatchError,
    make_watch,
    parse_threshold_spec,
)
from bot.services.watches import WatchListing
from bot.views.blocks import Message, plain
from bot.views.hidden_note import with_hidden_note
from bot.views.watches import unwatch_reply, watch_refusal, watch_saved, watches_list
from handlers.commands.args import UsageError, channel_ref, cluster_address
from handlers.context import AuditTrail, CommandRequest, Deps, Job, Prepared

WATCH_USAGE = (
    "Usage: `/iamauth watch <cluster> [#channel] [invalid_token>=5/5m] "
    "[insufficient_permissions>=1/15m] [repeat=4h] [resolved=no]`"
)


def prepare_watch(request: CommandRequest, deps: Deps) -> Prepared:
    words = list(request.words)
    if not words:
        raise UsageError(f"Which cluster? {WATCH_USAGE}")
    address = cluster_address(words.pop(0))
    channel = request.channel_id
    thresholds = []
    repeat: timedelta | str = DEFAULT_REPEAT  # as typed: make_watch reads it and owns its limit
    send_resolved = True
    try:
        for word in words:
            lowered = word.lower()
            if (ref := channel_ref(word)) is not None:
                channel = ref
            elif lowered.startswith("repeat="):
                repeat = lowered.removeprefix("repeat=")
            elif lowered in {"resolved=no", "resolved=off", "resolved=false"}:
                send_resolved = False
            elif lowered in {"resolved=yes", "resolved=on", "resolved=true"}:
                send_resolved = True
            else:
                thresholds.append(parse_threshold_spec(word))
        watch = make_watch(
            address,
            channel,
            thresholds or list(DEFAULT_THRESHOLDS),
            repeat=repeat,
            send_resolved=send_resolved,
            created_by=request.user_id,
        )
    except WatchError as error:
        raise UsageError(f"{error} {WATCH_USAGE}") from None
    job = watch_job(deps, watch, request.trail)
    return Prepared(job, Kind.CHANGE, str(address), destination=channel)


def watch_job(deps: Deps, watch: Watch, trail: AuditTrail) -> Job:
    """Store `watch` with `trail`'s audit entry (the command's and the modal's)."""

    def run() -> Message:
        try:
            new = deps.commit(trail, lambda audit: deps.watches.add(watch, audit))
        except WatchError as error:
            return plain(watch_refusal(error))
        return watch_saved(watch, new)

    return run


def prepare_unwatch(request: CommandRequest, deps: Deps) -> Prepared:
    words = list(request.words)
    if not words or len(words) > 2:
        raise UsageError("Usage: `/iamauth unwatch <cluster> [#channel]`")
    address = cluster_address(words[0])
    cluster = str(address)
    channel = request.channel_id
    if len(words) == 2:
        ref = channel_ref(words[1])
        if ref is None:
            raise UsageError("Name the channel as `#channel` (Slack turns it into a link).")
        channel = ref

    def run() -> Message:
        try:
            unwatched = deps.commit(
                request.trail,
                lambda audit: deps.watches.remove(address, channel, audit, by=request.user_id),
            )
        except WatchError as error:
            return plain(watch_refusal(error))
        return unwatch_reply(unwatched, cluster, channel)

    return Prepared(run, Kind.CHANGE, cluster)


def prepare_list(request: CommandRequest, deps: Deps) -> Prepared:
    if request.words:
        raise UsageError("Usage: `/iamauth watches`")

    def run() -> Message:
        listing = deps.read(deps.watches.listing)
        here = request.channel_id
        watches, hidden = deps.policy.readable(listing.watches, lambda w: w.cluster, here)
        silences, hidden_silences = deps.policy.readable(
            listing.silences.values(), lambda s: s.cluster, here
        )
        shown = WatchListing(watches, {s.cluster: s for s in silences}, listing.not_sent)
        message = watches_list(shown, deps.watches.clock())
        hidden += hidden_silences
        return with_hidden_note(message, hidden, "watch or silence", "watches or silences")

    return Prepared(run, Kind.READ)
