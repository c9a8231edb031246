"""`/iamauth failures <cluster> [window]`."""

from __future__ import annotations

from bot.slack.render import failures_message
from handlers.args import cluster_query
from handlers.context import Deps, Job


def prepare(words: list[str], deps: Deps) -> Job:
    query = cluster_query("failures", words, deps.max_window)
    return lambda: failures_message(deps.service.failures(query.cluster, query.duration))
