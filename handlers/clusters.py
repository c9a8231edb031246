"""`/iamauth clusters`: every cluster with IAM auth enabled, in every target, with its failures."""

from __future__ import annotations

from bot.aws.targets import Targets
from bot.domain.access import Kind
from bot.service import list_clusters
from bot.slack.render_watches import clusters_message
from handlers.args import UsageError
from handlers.context import CommandRequest, Deps, Prepared


def prepare(request: CommandRequest, deps: Deps) -> Prepared:
    if request.words:
        raise UsageError("Usage: `/iamauth clusters`")
    service = deps.service
    targets = service.targets or Targets((), service.aws.settings)
    return Prepared(lambda: clusters_message(list_clusters(targets, deps.clock())), Kind.READ)
