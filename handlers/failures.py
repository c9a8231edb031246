"""`/iamauth failures <cluster> [window]`."""

from __future__ import annotations

from bot.domain.access import Kind
from bot.slack.render import failures_message
from handlers.args import cluster_query
from handlers.context import CommandRequest, Deps, Prepared


def prepare(request: CommandRequest, deps: Deps) -> Prepared:
    query = cluster_query("failures", request.words, deps.max_window)
    return Prepared(
        lambda: failures_message(deps.service.failures(query.address, query.duration)),
        Kind.READ,
        query.cluster,
    )
