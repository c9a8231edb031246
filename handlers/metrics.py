"""`/iamauth metrics <cluster> [window]`."""

from __future__ import annotations

from bot.slack.render import metrics_message
from handlers.args import cluster_query
from handlers.context import CommandRequest, Deps, Job


def prepare(request: CommandRequest, deps: Deps) -> Job:
    query = cluster_query("metrics", request.words, deps.max_window)
    return lambda: metrics_message(*deps.service.metrics(query.cluster, query.duration))
