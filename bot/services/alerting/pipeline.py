"""One digest tick: collect → evaluate → group → enrich → in place → render → commit (see
__init__.py).

The stages are small functions; this class holds what they need (the ports, the rules, the clock)
and runs them in order. The alert decisions are pure (evaluate, group); the store is read at the
start and written once, states and digests together, at the end.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.adapters.store.fence import Fence
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
        states, in_place = served.states, self.in_place
        # In place, a watch's notices go on the message of its open episode, if it has one.
        open_of = (lambda watch: open_message(watch, states)) if in_place else (lambda watch: None)
        digests = enrich(
            self.reads, group(evaluation.notices, open_of), history, end,
            budget=self.detail_budget_seconds,
        )  # fmt: skip
        if in_place is None:
            outbox = [outbox_digest(d, self.render, end) for d in digests]
            out = Outgoing(outbox, [], evaluation.changed)
        else:
            messages = self.store.alert_messages({s.message for s in states.values() if s.message})
            out = in_place.outgoing(digests, messages, served.watches, states, evaluation, end, now)
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
        if result.notices:
            log.info(
                "tick %s: %d notices, %d outbox rows",
                end.isoformat(), len(result.notices), len(out.digests),
            )  # fmt: skip
        return result


def _log_skipped(skipped: list[Skipped]) -> None:
    """One line a tick for every watch it left out."""
    if skipped:
        log.warning(
            "digest: %d watch(es) left out this tick: %s",
            len(skipped),
            "; ".join(f"{s.watch.cluster} for {s.watch.channel}: {s.reason}" for s in skipped),
        )
