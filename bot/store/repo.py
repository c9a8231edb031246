"""The store: watches, alert states, silences and the outbox, each change in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.alerts import AlertState, Status, Threshold
from bot.domain.records import Family
from bot.domain.watches import Watch
from bot.store.db import make_engine, migrate
from bot.store.models import (
    AlertStateRow,
    AuditRow,
    HeartbeatRow,
    OutboxRow,
    SilenceRow,
    WatchRow,
)

StateKey = tuple[str, Family]  # (watch key, family)


@dataclass(frozen=True)
class Silence:
    cluster: str
    until: datetime
    reason: str
    created_by: str | None


@dataclass(frozen=True)
class OutboxItem:
    id: int
    key: str
    channel: str
    text: str
    blocks: list[dict[str, Any]]
    created_at: datetime
    attempts: int
    chart: dict[str, Any] | None = None


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    user_id: str
    channel_id: str
    action: str
    outcome: str
    detail: str = ""


@dataclass(frozen=True)
class Digest:
    """A message owed to a channel, ready to be written to the outbox."""

    channel: str
    text: str
    blocks: list[dict[str, Any]]
    chart: dict[str, Any] | None = None  # drawn and posted in the digest's thread


def _threshold_to_json(t: Threshold) -> dict[str, Any]:
    return {
        "family": t.family.value,
        "count": t.count,
        "window_seconds": int(t.window.total_seconds()),
        "periods": t.periods,
        "breaching": t.breaching,
    }


def _threshold_from_json(d: Mapping[str, Any]) -> Threshold:
    return Threshold(
        Family(d["family"]), int(d["count"]), timedelta(seconds=int(d["window_seconds"])),
        int(d.get("periods", 1)), int(d.get("breaching", 1)),
    )  # fmt: skip


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str) -> Store:
        """The store at DATABASE_URL, its schema brought up to date."""
        engine = make_engine(url)
        migrate(engine)
        return cls(engine)

    def session(self) -> Session:
        return self._sessions()

    # Watches added from Slack -------------------------------------------------------------
    def list_watches(self) -> list[Watch]:
        with self.session() as session:
            rows = session.scalars(select(WatchRow).order_by(WatchRow.cluster, WatchRow.channel))
            return [
                Watch(
                    row.cluster,
                    row.channel,
                    tuple(_threshold_from_json(t) for t in row.thresholds),
                    timedelta(seconds=row.repeat_seconds),
                    row.send_resolved,
                    "slack",
                    row.created_by,
                )
                for row in rows
            ]

    def save_watch(self, watch: Watch, now: datetime) -> bool:
        """Add or replace the watch of (cluster, channel); True when it was new."""
        with self.session() as session, session.begin():
            row = session.scalar(
                select(WatchRow).where(
                    WatchRow.cluster == watch.cluster, WatchRow.channel == watch.channel
                )
            )
            new = row is None
            if row is None:
                row = WatchRow(cluster=watch.cluster, channel=watch.channel, created_at=now)
                session.add(row)
            row.thresholds = [_threshold_to_json(t) for t in watch.thresholds]
            row.repeat_seconds = int(watch.repeat.total_seconds())
            row.send_resolved = watch.send_resolved
            row.created_by = watch.created_by
            return new

    def delete_watches(self, cluster: str, channel: str | None) -> int:
        with self.session() as session, session.begin():
            query = delete(WatchRow).where(WatchRow.cluster == cluster)
            if channel is not None:
                query = query.where(WatchRow.channel == channel)
            deleted = session.execute(query).rowcount  # type: ignore[attr-defined]
            return int(deleted or 0)

    # Silences -----------------------------------------------------------------------------
    def silence(
        self, cluster: str, until: datetime, reason: str, by: str | None, now: datetime
    ) -> None:
        with self.session() as session, session.begin():
            row = session.get(SilenceRow, cluster)
            if row is None:
                row = SilenceRow(cluster=cluster)
                session.add(row)
            row.until, row.reason, row.created_by, row.created_at = until, reason, by, now

    def unsilence(self, cluster: str) -> bool:
        with self.session() as session, session.begin():
            result = session.execute(delete(SilenceRow).where(SilenceRow.cluster == cluster))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def active_silences(self, now: datetime) -> dict[str, Silence]:
        with self.session() as session:
            rows = session.scalars(select(SilenceRow).where(SilenceRow.until > now))
            return {r.cluster: Silence(r.cluster, r.until, r.reason, r.created_by) for r in rows}

    # Alert state and the outbox: written together ------------------------------------------
    def alert_states(self) -> dict[StateKey, AlertState]:
        with self.session() as session:
            return {
                (row.watch_key, Family(row.family)): AlertState(
                    Status(row.status), row.since, row.notified_at, row.notified_count, row.peak
                )
                for row in session.scalars(select(AlertStateRow))
            }

    def commit_tick(
        self,
        states: Mapping[StateKey, AlertState],
        digests: Iterable[Digest],
        now: datetime,
        *,
        stale_keys: Iterable[str] = (),
    ) -> list[int]:
        """State transitions and the digests they owe, in one transaction: both or neither."""
        with self.session() as session, session.begin():
            for (watch_key, family), state in states.items():
                row = session.get(AlertStateRow, (watch_key, family.value))
                if row is None:
                    row = AlertStateRow(watch_key=watch_key, family=family.value)
                    session.add(row)
                row.status = state.status.value
                row.since, row.notified_at = state.since, state.notified_at
                row.notified_count, row.peak, row.updated_at = state.notified_count, state.peak, now
            for key in stale_keys:
                session.execute(delete(AlertStateRow).where(AlertStateRow.watch_key == key))
            rows = [
                OutboxRow(
                    key=uuid.uuid4().hex,
                    channel=d.channel,
                    text=d.text,
                    blocks=d.blocks,
                    chart=d.chart,
                    created_at=now,
                    status="pending",
                    attempts=0,
                )
                for d in digests
            ]
            session.add_all(rows)
            session.flush()
            return [row.id for row in rows]

    def pending(self) -> list[OutboxItem]:
        with self.session() as session:
            rows = session.scalars(
                select(OutboxRow).where(OutboxRow.status == "pending").order_by(OutboxRow.id)
            )
            return [
                OutboxItem(
                    r.id, r.key, r.channel, r.text, r.blocks, r.created_at, r.attempts, r.chart
                )
                for r in rows
            ]

    def mark_attempt(self, outbox_id: int) -> None:
        with self.session() as session, session.begin():
            row = session.get(OutboxRow, outbox_id)
            if row is not None:
                row.attempts += 1

    def mark_sent(self, outbox_id: int, ts: str | None, now: datetime) -> None:
        with self.session() as session, session.begin():
            row = session.get(OutboxRow, outbox_id)
            if row is not None:
                row.status, row.ts, row.sent_at = "sent", ts, now

    def mark_error(self, outbox_id: int, error: str, *, give_up: bool) -> None:
        with self.session() as session, session.begin():
            row = session.get(OutboxRow, outbox_id)
            if row is not None:
                row.last_error = error[:2000]
                if give_up:
                    row.status = "failed"

    def outbox(self) -> list[OutboxRow]:
        with self.session() as session:
            return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))

    # Audit log ----------------------------------------------------------------------------
    def record_audit(self, entry: AuditEntry) -> None:
        with self.session() as session, session.begin():
            session.add(
                AuditRow(
                    at=entry.at,
                    user_id=entry.user_id[:32],
                    channel_id=entry.channel_id[:32],
                    action=entry.action[:500],
                    outcome=entry.outcome,
                    detail=entry.detail[:500],
                )
            )

    def recent_audit(self, limit: int) -> list[AuditEntry]:
        with self.session() as session:
            rows = session.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(limit))
            return [
                AuditEntry(r.at, r.user_id, r.channel_id, r.action, r.outcome, r.detail)
                for r in rows
            ]

    # Health -------------------------------------------------------------------------------
    def ping(self) -> None:
        """Raises when the database cannot be reached."""
        with self.session() as session:
            session.execute(text("SELECT 1"))

    def beat(self, name: str, at: datetime, detail: str = "") -> None:
        with self.session() as session, session.begin():
            row = session.get(HeartbeatRow, name)
            if row is None:
                session.add(HeartbeatRow(name=name, at=at, detail=detail[:500]))
            else:
                row.at, row.detail = at, detail[:500]

    def last_beat(self, name: str) -> tuple[datetime, str] | None:
        with self.session() as session:
            row = session.get(HeartbeatRow, name)
            return (row.at, row.detail) if row is not None else None
