"""`/iamauth silence <cluster> <duration> [reason]` and `/iamauth unsilence <cluster>`."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.access import Kind
from bot.domain.watches import WatchError
from bot.domain.window import WindowError, parse_duration
from bot.slack.mrkdwn import escape, shorten
from bot.slack.render import Message
from bot.slack.render_watches import plain
from bot.watching import MAX_SILENCE
from handlers.args import UsageError, cluster_id
from handlers.context import CommandRequest, Deps, Job, Prepared

SILENCE_USAGE = "Usage: `/iamauth silence <cluster> <duration> [reason]`, e.g. `/iamauth silence prod-db 2h deploy`"


def silence_job(deps: Deps, cluster: str, duration: timedelta, reason: str, user_id: str) -> Job:
    def run() -> Message:
        try:
            until = deps.watching.silence(cluster, duration, reason, user_id)
        except WatchError as error:
            return plain(str(error))
        because = f" ({escape(shorten(reason, 200))})" if reason else ""
        return plain(
            f":no_bell: Alerts of `{cluster}` are silenced until {until:%Y-%m-%d %H:%M} UTC{because}. "
            "They are still evaluated; `/iamauth unsilence` ends it early."
        )

    return run


def prepare_silence(request: CommandRequest, deps: Deps) -> Prepared:
    if len(request.words) < 2:
        raise UsageError(SILENCE_USAGE)
    cluster = cluster_id(request.words[0])
    try:
        duration = parse_duration(request.words[1], maximum=MAX_SILENCE)
    except WindowError as error:
        raise UsageError(f"{error} {SILENCE_USAGE}") from None
    job = silence_job(deps, cluster, duration, " ".join(request.words[2:]), request.user_id)
    return Prepared(job, Kind.CHANGE, cluster)


def prepare_unsilence(request: CommandRequest, deps: Deps) -> Prepared:
    if len(request.words) != 1:
        raise UsageError("Usage: `/iamauth unsilence <cluster>`")
    cluster = cluster_id(request.words[0])

    def run() -> Message:
        if deps.watching.unsilence(cluster):
            return plain(f":bell: Alerts of `{cluster}` are no longer silenced.")
        return plain(f"`{cluster}` was not silenced.")

    return Prepared(run, Kind.CHANGE, cluster)
