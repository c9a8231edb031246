"""`/iamauth clusters`: every cluster with IAM auth enabled, in every target, with its failures;
only those that may be read in the asking channel are shown (bot/domain/access.py)."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.access import Kind
from bot.views.blocks import Message
from bot.views.clusters import clusters_message
from bot.views.hidden_note import with_hidden_note
from handlers.commands.args import UsageError
from handlers.context import CommandRequest, Deps, Prepared


def prepare(request: CommandRequest, deps: Deps) -> Prepared:
    if request.words:
        raise UsageError("Usage: `/iamauth clusters`")

    def run() -> Message:
        listing = deps.clusters.listing()
        rows, hidden = deps.policy.readable(listing.rows, lambda r: r.cluster, request.channel_id)
        message = clusters_message(replace(listing, rows=rows))
        return with_hidden_note(message, hidden, "cluster", "clusters")

    return Prepared(run, Kind.READ, reads_aws=True)
