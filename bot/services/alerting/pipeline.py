"""One digest tick: collect → evaluate → group → enrich → render → commit (see __init__.py).

The stages are small functions; this class holds what they need (the ports, the rules, the clock)
and runs them in order. The alert decisions are pure (evaluate, group); the store is read at the
start and written once, states and digests together, at the end.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.adapters.store.fence import Fence
from bot.adapters.store.repo import AlertMessage
from bot.domain.access import AccessPolicy
from bot.domain.alerts import Notice
from bot.domain.metrics import METRICS_DELAY
from bot.domain.watches import Watch
from bot.domain.window import Window
from bot.services.alerting.collect import (
    chart_history,
    evaluated_metrics,
    place_metrics,
    served_watches,
    windows,
)
from bot.services.alerting.commit import commit, outbox_digest
from bot.services.alerting.enrich import DETAIL_BUDGET_SECONDS, enrich
from bot.services.alerting.evaluate import evaluate
from bot.services.alerting.group import group
from bot.services.alerting.in_place import InPlace, Outgoing, open_message
from bot.services.alerting.ports import (
    AlertStore,
    AwsReads,
    ClusterNames,
    MessageView,
    RenderDigest,
)
from bot.services.served_watches import Skipped

log = logging.getLogger(__name__)


@dataclass
class TickResult:
    evaluated: Window | None = None
    clusters: int = 0
    notices: list[tuple[Watch, Notice]] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  # watches this tick left out, and why


def floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


class DigestPipeline:
    def __init__(
        self,
        store: AlertStore,
        reads: AwsReads,
        render: RenderDigest,
        *,
        identity: ClusterNames,
        clock: Callable[[], datetime],
        config_watches: Sequence[Watch] = (),
        policy: AccessPolicy | None = None,
        metrics_delay: timedelta = METRICS_DELAY,
        detail_budget_seconds: float = DETAIL_BUDGET_SECONDS,
        messages: MessageView | None = None,
        new_key: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.store = store
        self.reads = reads
        self.render = render
        self.identity = identity
        self.clock = clock
        self.config_watches = tuple(config_watches)
        # Where a cluster's digests may go (the read rule), whenever and wherever its watch was made.
        self.policy = policy or AccessPolicy()
        self.metrics_delay = metrics_delay
        self.detail_budget_seconds = detail_budget_seconds
        # Without a message view, every digest is a message of its own (nothing edited in place).
        self.in_place = InPlace(render, messages, new_key) if messages is not None else None

    def tick(self, now: datetime | None = None, *, fence: Fence | None = None) -> TickResult:
        """With a fence, every write is the leader's only (LeaseLost otherwise, nothing written)."""
        now = now or self.clock()
        self.store.write_held_audit()  # a process that answers commands too: the store is back
        served = served_watches(self.store, self.config_watches, self.policy, self.identity)
        _log_skipped(served.skipped)
        if not served.watches:
            if served.stale:
                commit(self.store, {}, [], now, stale=served.stale, fence=fence)
            return TickResult(skipped=served.skipped)
        # Metrics arrive late: evaluate windows that ended `metrics_delay` ago.
        end = floor_minute(now - self.metrics_delay)
        evaluated, charted = windows(served.watches, end)
        clusters = sorted({w.cluster for w in served.watches}, key=str)
        names = evaluated_metrics(served.watches)
        metrics = place_metrics(self.reads, clusters, evaluated, names)
        silences = self.store.active_silences(now)

        evaluation = evaluate(served.watches, served.states, metrics, silences, end, now)
        history = chart_history(self.reads, evaluation.notices, charted)
        messages: Mapping[str, AlertMessage] = {}
        if self.in_place is not None:
            states = served.states
            messages = self.store.alert_messages({s.message for s in states.values() if s.message})
            digests = group(evaluation.notices, lambda watch: open_message(watch, states))
        else:
            digests = group(evaluation.notices)
        digests = enrich(self.reads, digests, history, end, budget=self.detail_budget_seconds)
        if self.in_place is not None:
            out = self.in_place.outgoing(
                digests, messages, served.watches, served.states, evaluation, end, now
            )
        else:
            out = Outgoing(
                [outbox_digest(d, self.render, end) for d in digests], [], evaluation.changed
            )
        result = TickResult(evaluated, len(clusters), evaluation.notices, skipped=served.skipped)
        result.outbox_ids = commit(
            self.store,
            out.states,
            out.digests,
            now,
            stale=served.stale,
            fence=fence,
            messages=out.messages,
        )
        outbox = out.digests
        if result.notices:
            log.info(
                "tick %s: %d notices, %d digests", end.isoformat(), len(result.notices), len(outbox)
            )
        return result


def _log_skipped(skipped: list[Skipped]) -> None:
    """One line a tick for every watch it left out."""
    if skipped:
        log.warning(
            "digest: %d watch(es) left out this tick: %s",
            len(skipped),
            "; ".join(f"{s.watch.cluster} for {s.watch.channel}: {s.reason}" for s in skipped),
        )
