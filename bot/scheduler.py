"""APScheduler wiring of the digest tick, for `iamauth clock` (blocking) and `iamauth run`
(in the background of the Socket Mode process)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.digest import DigestRunner
from bot.health import DIGEST_BEAT
from bot.slack.deliver import Deliverer
from bot.store.leader import LeaderLock

log = logging.getLogger(__name__)


@dataclass
class DigestJob:
    """One tick, done only by the leader: evaluate and write the outbox, post it, leave a heartbeat.

    Only the leader beats: the heartbeat says digests are being evaluated and posted. A standby
    that beat too would hide a leader that holds the lock but no longer ticks.
    """

    runner: DigestRunner
    deliverer: Deliverer
    lock: LeaderLock

    def __call__(self) -> bool:
        if not self.lock.acquire():
            log.debug("standing by: another process is the leader")
            return False
        problems = []
        try:
            self.runner.tick()
        except Exception:
            # The outbox may still hold digests of earlier ticks: deliver them regardless.
            log.exception("digest tick failed")
            problems.append("the tick failed")
        posted = 0
        try:
            posted = self.deliverer.deliver_pending()
        except Exception:
            log.exception("delivering digests failed")
            problems.append("delivering failed")
        self._beat(
            f"pid {os.getpid()}: {posted} digest(s) posted" + "".join(f"; {p}" for p in problems)
        )
        return True

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
    scheduler = BlockingScheduler(timezone=UTC)
    schedule(scheduler, job, seconds)
    return scheduler


def background(job: DigestJob, seconds: int) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=UTC, daemon=True)
    schedule(scheduler, job, seconds)
    return scheduler
