"""What every handler is given: the services, the limits, the access policy, and who asked."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk import WebClient

from bot.domain.access import AccessPolicy, Decision, Kind
from bot.service import IamAuthService
from bot.slack.render import Message
from bot.slack.usergroups import UserGroups
from bot.store.repo import AuditEntry, Store
from bot.telemetry import COMMANDS
from bot.watching import WatchService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deps:
    service: IamAuthService
    max_window: timedelta
    watching: WatchService
    policy: AccessPolicy
    groups: UserGroups
    store: Store
    clock: Callable[[], datetime]
    # The work after an ack runs here, not in Bolt's listener threads: those must stay free to
    # ack the next requests at once however slow AWS is (measured by benchmarks/ack_latency.py).
    jobs: Executor
    # The bot's Web API client, for what a response_url cannot carry (files, threads).
    slack: WebClient

    def later(self, work: Callable[[], None]) -> None:
        def run() -> None:
            try:
                work()
            except Exception:
                log.exception("a command's work after the ack failed")

        # The job thread runs in a copy of this context, so it logs under the same request id.
        self.jobs.submit(contextvars.copy_context().run, run)

    def decide(self, kind: Kind, cluster: str | None, user: str, channel: str) -> Decision:
        groups: frozenset[str] = frozenset()
        if self.policy.enforced and kind is not Kind.READ:
            groups = self.groups.groups_of(user, self.policy.groups_mentioned(cluster))
        return self.policy.decide(kind, cluster, user, channel, groups)

    def audit(
        self,
        user: str,
        channel: str,
        action: str,
        outcome: str,
        detail: str = "",
        *,
        command: str = "other",
    ) -> None:
        """Record who did what where, and count it under `command` (a fixed name, never typed
        text); a failing audit write is logged, never fatal to the reply."""
        COMMANDS.labels(command, outcome).inc()
        log.info(
            "%s by %s in %s: %s %r",
            command,
            user,
            channel,
            outcome,
            action,
            extra={"command": command, "outcome": outcome, "user": user, "channel": channel},
        )
        try:
            self.store.record_audit(
                AuditEntry(self.clock(), user, channel, action, outcome, detail)
            )
        except Exception:
            log.exception("could not write the audit log")


@dataclass(frozen=True)
class CommandRequest:
    """The words after the subcommand, and Slack's own ids from the payload (never from text)."""

    words: list[str]
    user_id: str
    channel_id: str


# A prepared command: input already validated, runs after the ack and returns the reply.
Job = Callable[[], Message]


@dataclass(frozen=True)
class Prepared:
    job: Job
    kind: Kind
    cluster: str | None = None
