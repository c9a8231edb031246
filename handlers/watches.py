"""`/iamauth watch`, `unwatch` and `watches`."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.access import Kind
from bot.domain.alerts import DEFAULT_REPEAT
from bot.domain.watches import DEFAULT_THRESHOLDS, WatchError, make_watch, parse_threshold_spec
from bot.domain.window import WindowError, parse_duration
from bot.slack.render import Message
from bot.slack.render_watches import plain, watch_saved, watches_list
from handlers.args import UsageError, channel_ref, cluster_address
from handlers.context import CommandRequest, Deps, Prepared

WATCH_USAGE = (
    "Usage: `/iamauth watch <cluster> [#channel] [invalid_token>=5/5m] "
    "[insufficient_permissions>=1/15m] [repeat=4h] [resolved=no]`"
)


def prepare_watch(request: CommandRequest, deps: Deps) -> Prepared:
    words = list(request.words)
    if not words:
        raise UsageError(f"Which cluster? {WATCH_USAGE}")
    address = cluster_address(words.pop(0))
    cluster = str(address)
    channel = request.channel_id
    thresholds = []
    repeat: timedelta = DEFAULT_REPEAT
    send_resolved = True
    try:
        for word in words:
            lowered = word.lower()
            if (ref := channel_ref(word)) is not None:
                channel = ref
            elif lowered.startswith("repeat="):
                repeat = parse_duration(lowered.removeprefix("repeat="), maximum=timedelta(days=7))
            elif lowered in {"resolved=no", "resolved=off", "resolved=false"}:
                send_resolved = False
            elif lowered in {"resolved=yes", "resolved=on", "resolved=true"}:
                send_resolved = True
            else:
                thresholds.append(parse_threshold_spec(word))
        watch = make_watch(
            cluster,
            channel,
            thresholds or list(DEFAULT_THRESHOLDS),
            repeat=repeat,
            send_resolved=send_resolved,
            created_by=request.user_id,
        )
    except (WatchError, WindowError) as error:
        raise UsageError(f"{error} {WATCH_USAGE}") from None

    def run() -> Message:
        try:
            new = deps.watching.add(watch)
        except WatchError as error:
            return plain(str(error))
        return watch_saved(watch, new)

    return Prepared(run, Kind.CHANGE, address.cluster)


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
            removed = deps.watching.remove(cluster, channel)
        except WatchError as error:
            return plain(str(error))
        if not removed:
            return plain(f"`{cluster}` was not watched for <#{channel}>.")
        return plain(f"Stopped watching `{cluster}` for <#{channel}>.")

    return Prepared(run, Kind.CHANGE, address.cluster)


def prepare_list(request: CommandRequest, deps: Deps) -> Prepared:
    if request.words:
        raise UsageError("Usage: `/iamauth watches`")
    return Prepared(lambda: watches_list(deps.watching.listing(), deps.watching.clock()), Kind.READ)
