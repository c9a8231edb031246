"""What every handler is given: the services, the limits, the access policy, and who asked."""

from __future__ import annotations

import contextvars
import logging
import math
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.adapters.slack.usergroups import UserGroups
from bot.adapters.store.outage import unreachable
from bot.adapters.store.repo import AuditEntry
from bot.domain.access import AccessPolicy, Decision, Kind
from bot.domain.window import format_duration
from bot.ops import answer_deadline, request_id
from bot.ops.telemetry import COMMANDS
from bot.ops.user_limits import UserRateLimiter
from bot.services.audit_log import AuditLog
from bot.services.clusters import ClusterService
from bot.services.home import HomeService
from bot.services.log_exports import LogExportService
from bot.services.queries import QueryService
from bot.services.watches import WatchService
from bot.views.blocks import Message
from handlers.home_tab import refresh_home

log = logging.getLogger(__name__)
T = TypeVar("T")


UNREACHABLE = "iamauth's database cannot be reached right now; nothing was changed."


class NothingChanged(Exception):
    """The store failed a command: a change and its audit entry were not stored (neither was), or
    what a reply needs could not be read. The message says which, for the person."""


def _store_failed(error: SQLAlchemyError, what: str, otherwise: str) -> NothingChanged:
    """What to tell the person when the store failed: an outage plainly; any other error as
    `otherwise`, with the request id its logged details carry."""
    rid = request_id.current() or "-"
    if unreachable(error):
        log.warning("request %s: %s, the database is unreachable: %s", rid, what, error)
        return NothingChanged(f"{UNREACHABLE} Try again in a few minutes (request `{rid}`).")
    log.error("request %s: %s", rid, what, exc_info=error)
    return NothingChanged(otherwise.format(rid=rid))


@dataclass
class AuditTrail:
    """Who did what where, counted under `command` (a fixed name, never typed text). A change
    hands its entry to the store to write in the change's own transaction (`Deps.commit`);
    everything else is recorded after the reply (`Deps.audit`), once."""

    user: str
    channel: str
    action: str
    command: str
    written: bool = False  # by a change's transaction: not to be written again

    def entry(self, at: datetime, outcome: str, detail: str = "") -> AuditEntry:
        return AuditEntry(at, self.user, self.channel, self.action, outcome, detail)


@dataclass(frozen=True)
class Deps:
    queries: QueryService
    log_exports: LogExportService
    clusters: ClusterService
    watches: WatchService
    audit_log: AuditLog
    policy: AccessPolicy
    groups: UserGroups
    max_window: timedelta
    clock: Callable[[], datetime]
    # The work after an ack runs here, not in Bolt's listener threads: those must stay free to
    # ack the next requests at once however slow AWS is (measured by benchmarks/ack_latency.py).
    jobs: Executor
    # The bot's Web API client, for what a response_url cannot carry (files, threads).
    slack: WebClient
    # Each person's budget of commands that read AWS.
    user_limits: UserRateLimiter
    # The Home tab (None: off); published again after each person's own change.
    home: HomeService | None = None

    def later(self, work: Callable[[], None]) -> None:
        def run() -> None:
            try:
                work()
            except Exception:
                log.exception("a command's work after the ack failed")

        # The job thread runs in a copy of this context, so it logs under the same request id,
        # and its AWS calls know by when the answer must reach the response_url.
        answer_deadline.answer_through_response_url()
        self.jobs.submit(contextvars.copy_context().run, run)

    def decide(
        self, kind: Kind, cluster: str | None, user: str, channel: str, destination: str | None
    ) -> Decision:
        groups: frozenset[str] = frozenset()
        if self.policy.enforced and kind is not Kind.READ:
            groups = self.groups.groups_of(user, self.policy.groups_mentioned(cluster))
        return self.policy.decide(kind, cluster, user, channel, groups, destination=destination)

    def commit(self, trail: AuditTrail, change: Callable[[AuditEntry], T]) -> T:
        """Make a change that writes `trail`'s entry in its own transaction: both or neither.
        If either cannot be stored, NothingChanged says so to the person."""
        try:
            result = change(trail.entry(self.clock(), "allowed"))
        except SQLAlchemyError as error:
            raise _store_failed(
                error,
                "the change and its audit entry were not stored",
                "Nothing was changed: it could not be stored with its audit entry (request "
                "`{rid}`; the details are logged). Try again, or ask an admin to check the database.",
            ) from None
        trail.written = True
        if self.home is not None and trail.user:  # in the job pool: never holds up the reply
            ctx = contextvars.copy_context()
            self.jobs.submit(ctx.run, refresh_home, self.home, self.slack, trail.user)
        return result

    def read(self, fetch: Callable[[], T]) -> T:
        """What a reply needs from the store; if it cannot be read, NothingChanged says so."""
        try:
            return fetch()
        except SQLAlchemyError as error:
            raise _store_failed(
                error,
                "what the reply needs could not be read",
                "iamauth could not read its database (request `{rid}`; the details are logged); "
                "nothing was changed.",
            ) from None

    def audit(self, trail: AuditTrail, outcome: str, detail: str = "") -> None:
        """Count and log the request's outcome, and write its audit entry unless its change did.
        A failing write here is logged, never fatal to the reply: nothing was changed with it.
        While the database is unreachable the store holds the entry until it is back; this log
        line is its copy of last resort."""
        COMMANDS.labels(trail.command, outcome).inc()
        log.info(
            "%s by %s in %s: %s %r",
            trail.command,
            trail.user,
            trail.channel,
            outcome,
            trail.action,
            extra={
                "command": trail.command,
                "outcome": outcome,
                "user": trail.user,
                "channel": trail.channel,
            },
        )
        if trail.written:
            return
        try:
            self.audit_log.record(trail.entry(self.clock(), outcome, detail))
        except Exception as error:
            if isinstance(error, SQLAlchemyError) and unreachable(error):
                held = self.audit_log.held
                log.warning("audit entry held until the database is back (%d held)", held)
            else:
                log.exception("could not write the audit log")

    def limit(self, user: str) -> str | None:
        """Spend one of `user`'s AWS-reading commands; None when it fits, or else why not and
        when to try again."""
        wait = self.user_limits.spend(user)
        if wait is None:
            return None
        seconds = math.ceil(wait.total_seconds())
        when = f"{seconds} s" if seconds < 120 else f"{math.ceil(seconds / 60)} min"
        # Rounded up to the minute: the time said is never too early.
        again = self.clock() + wait + timedelta(seconds=59, microseconds=999_999)
        rate = self.user_limits.rate
        return (
            f"You have sent {rate.count} commands that read AWS within "
            f"{format_duration(rate.window)}, the most one person may: try again in {when} "
            f"(after {again:%H:%M} UTC)."
        )


@dataclass(frozen=True)
class CommandRequest:
    """The words after the subcommand, and Slack's own ids from the payload (never from text)."""

    words: list[str]
    user_id: str
    channel_id: str
    trail: AuditTrail  # the audit entry of this command, for a change to write with itself


# A prepared command: input already validated, runs after the ack and returns the reply.
Job = Callable[[], Message]


@dataclass(frozen=True)
class Prepared:
    job: Job
    kind: Kind
    cluster: str | None = None  # canonical address text, or None for lists and help
    # A channel the cluster's data will be sent to (a watch's); it must be allowed to read it.
    destination: str | None = None
    reads_aws: bool = False  # counted against the asker's budget (bot/ops/user_limits.py)
