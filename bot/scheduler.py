"""APScheduler wiring of the digest tick, for `iamauth clock` (blocking) and `iamauth run`
(in the background of the Socket Mode process)."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.adapters.slack.outbox_delivery import Deliverer
from bot.adapters.store.fence import LeaseLost
from bot.adapters.store.leader import LeaderLock, Lease
from bot.config import ConfigError
from bot.services.alerting.pipeline import DigestPipeline
from bot.services.health import DIGEST_BEAT

LEASE_ENV = "IAMAUTH_LEASE_SECONDS"
LEASE_TICKS = 2
# Longer than one post can take (bot/adapters/slack/web_client.py), so a leader busy with a slow
# post keeps it.
MIN_LEASE = timedelta(seconds=30)
log = logging.getLogger(__name__)


def lease_ttl(tick: timedelta, env: Mapping[str, str]) -> timedelta:
    """How long a leader that stopped making progress (frozen, hung) keeps the lead before a
    standby takes over: IAMAUTH_LEASE_SECONDS, or 2 ticks and at least 30 s."""
    raw = env.get(LEASE_ENV, "").strip()
    if not raw:
        return max(LEASE_TICKS * tick, MIN_LEASE)
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 86_400:
        raise ConfigError(
            f"{LEASE_ENV}={raw[:40]!r}: write how many seconds a scheduler that stopped "
            "making progress stays the leader, a whole number from 1 to 86400."
        )
    return timedelta(seconds=int(raw))


def default_lease(deliverer: Deliverer, env: Mapping[str, str]) -> Lease:
    store = deliverer.store
    # On SQLite the job holds the database file's lock first (bot/adapters/store/leader.py), so no
    # other scheduler can be alive: a lease left behind by a dead one is taken at once.
    return Lease(
        store,
        ttl=lease_ttl(deliverer.tick, env),
        clock=deliverer.clock,
        at_once=store.engine.dialect.name == "sqlite",
    )


class DigestJob:
    """One tick, done only by the leader: evaluate and write the outbox, post it, leave a heartbeat.

    The leader is the lease's holder (`lock` only keeps a second scheduler off a SQLite file). The
    lease's fence goes with every write of the tick and every post: a process that lost the lead
    mid-tick writes and posts nothing more, and stands by from then on.

    Only the leader beats: the heartbeat says digests are being evaluated and posted. A standby
    that beat too would hide a leader that holds the lease but no longer ticks.
    """

    def __init__(
        self,
        runner: DigestPipeline,
        deliverer: Deliverer,
        lock: LeaderLock,
        lease: Lease | None = None,
    ) -> None:
        self.runner = runner
        self.deliverer = deliverer
        self.lock = lock
        self.lease = lease or default_lease(deliverer, {})

    def __call__(self) -> bool:
        if not self.lock.acquire():
            log.debug("standing by: another scheduler has the database file")
            return False
        fence = self.lease.acquire()
        if fence is None:
            log.debug("standing by: another process is the leader")
            return False
        problems = []
        try:
            self.runner.tick(fence=fence)
        except LeaseLost:
            self.lease.lost()
            return False
        except Exception:
            # The outbox may still hold digests of earlier ticks: deliver them regardless.
            log.exception("digest tick failed")
            problems.append("the tick failed")
        posted = 0
        try:
            posted = self.deliverer.deliver_pending(fence)
        except LeaseLost:
            self.lease.lost()
            return False
        except Exception:
            log.exception("delivering digests failed")
            problems.append("delivering failed")
        self._beat(
            f"pid {os.getpid()}: {posted} digest(s) posted" + "".join(f"; {p}" for p in problems)
        )
        return True

    def release(self) -> None:
        """At exit: the lease back (a standby takes over at its next tick), then the lock."""
        self.lease.release()
        self.lock.release()

    def _beat(self, detail: str) -> None:
        try:
            self.deliverer.store.beat(DIGEST_BEAT, self.deliverer.clock(), detail)
        except Exception:
            log.exception("could not record the scheduler's heartbeat")


def schedule(scheduler: BaseScheduler, job: DigestJob, seconds: int) -> BaseScheduler:
    scheduler.add_job(
        job,
        IntervalTrigger(seconds=seconds),
        id="digest",
        coalesce=True,  # after a stall, one catch-up tick, not one per missed interval
        max_instances=1,
        misfire_grace_time=max(5, seconds // 2),
        next_run_time=datetime.now(UTC),
    )
    return scheduler


def blocking(job: DigestJob, seconds: int) -> BlockingScheduler:
    """From the main thread: SIGTERM (a deploy, a restart) ends `start()`, so the caller gives the
    lease back and a standby takes over at its next tick, not once the lease expires."""
    scheduler = BlockingScheduler(timezone=UTC)
    schedule(scheduler, job, seconds)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    return scheduler


def background(job: DigestJob, seconds: int) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=UTC, daemon=True)
    schedule(scheduler, job, seconds)
    return scheduler
