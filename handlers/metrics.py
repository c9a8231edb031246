"""`/iamauth metrics <cluster> [window]`."""

from __future__ import annotations

from bot.domain.access import Kind
from bot.slack.render import metrics_message
from handlers.args import cluster_query
from handlers.context import CommandRequest, Deps, Prepared


def prepare(request: CommandRequest, deps: Deps) -> Prepared:
    query = cluster_query("metrics", request.words, deps.max_window)
    return Prepared(
        lambda: metrics_message(*deps.service.metrics(query.address, query.duration)),
        Kind.READ,
        query.cluster,
    )
