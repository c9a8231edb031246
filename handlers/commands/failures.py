"""`/iamauth failures <cluster> [window] [clients]`."""

from __future__ import annotations

from bot.domain.access import Kind
from bot.views.failures import failures_message
from handlers.commands.args import cluster_query
from handlers.context import CommandRequest, Deps, Prepared

CLIENTS_WORD = "clients"  # also match the postgresql log: who failed from where


def prepare(request: CommandRequest, deps: Deps) -> Prepared:
    query = cluster_query("failures", request.words, deps.max_window, (CLIENTS_WORD,))
    clients = CLIENTS_WORD in query.flags
    return Prepared(
        lambda: failures_message(deps.queries.failures(query.address, query.duration, clients)),
        Kind.READ,
        str(query.address),
        reads_aws=True,
    )
