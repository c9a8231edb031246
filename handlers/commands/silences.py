"""`/iamauth silence <cluster> <duration> [reason]` and `/iamauth unsilence <cluster>`.

A cluster is named as watches name it, `prod-db` or `account/region/prod-db`, and its silence is
kept under that text: `prod-db` silences the cluster of that name in every place, an address that
place only (bot/domain/address.py)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from bot.domain.access import Kind
from bot.domain.address import Address
from bot.domain.watches import WatchError
from bot.domain.window import WindowError, parse_duration
from bot.services.watches import MAX_SILENCE
from bot.views.blocks import Message, plain
from bot.views.silences import silenced, unsilenced
from bot.views.watches import watch_refusal
from handlers.commands.args import UsageError, cluster_address
from handlers.context import AuditTrail, CommandRequest, Deps, Job, Prepared

log = logging.getLogger(__name__)
SILENCE_USAGE = "Usage: `/iamauth silence <cluster> <duration> [reason]`, e.g. `/iamauth silence prod-db 2h deploy`"


def silence_job(
    deps: Deps,
    address: Address,
    duration: timedelta,
    reason: str,
    user_id: str,
    trail: AuditTrail,
) -> Job:
    def run() -> Message:
        try:
            until = deps.commit(
                trail,
                lambda audit: deps.watches.silence(address, duration, reason, user_id, audit),
            )
        except WatchError as error:
            return plain(watch_refusal(error))
        watched = bool(address.account) and _watched_by_short_name(deps, address.cluster)
        return silenced(address, until, reason, short_name_watched=watched)

    return run


def _watched_by_short_name(deps: Deps, cluster: str) -> bool:
    """For a note after the silence was stored: where the store fails now, no note."""
    try:
        return deps.watches.watched_by_short_name(cluster)
    except SQLAlchemyError:
        log.warning("could not tell whether a watch names %s alone", cluster, exc_info=True)
        return False


def prepare_silence(request: CommandRequest, deps: Deps) -> Prepared:
    if len(request.words) < 2:
        raise UsageError(SILENCE_USAGE)
    address = cluster_address(request.words[0])
    try:
        duration = parse_duration(request.words[1], maximum=MAX_SILENCE)
    except WindowError as error:
        raise UsageError(f"{error} {SILENCE_USAGE}") from None
    reason = " ".join(request.words[2:])
    job = silence_job(deps, address, duration, reason, request.user_id, request.trail)
    return Prepared(job, Kind.CHANGE, str(address))


def prepare_unsilence(request: CommandRequest, deps: Deps) -> Prepared:
    if len(request.words) != 1:
        raise UsageError("Usage: `/iamauth unsilence <cluster>`")
    address = cluster_address(request.words[0])
    cluster = str(address)

    def run() -> Message:
        was = deps.commit(request.trail, lambda audit: deps.watches.unsilence(address, audit))
        return unsilenced(cluster, was)

    return Prepared(run, Kind.CHANGE, cluster)
