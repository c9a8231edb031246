"""`/iamauth failures <cluster> [window]`."""

from __future__ import annotations

from bot.slack.render import failures_message
from handlers.args import cluster_query
from handlers.context import CommandRequest, Deps, Job


def prepare(request: CommandRequest, deps: Deps) -> Job:
    query = cluster_query("failures", request.words, deps.max_window)
    return lambda: failures_message(deps.service.failures(query.cluster, query.duration))
