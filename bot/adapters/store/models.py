"""Tables. Times are stored as UTC and always come back timezone-aware, on SQLite too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        result: datetime = value
        return result.replace(tzinfo=UTC) if result.tzinfo is None else result.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class WatchRow(Base):
    """A watch added from Slack (config-file watches live in the config file)."""

    __tablename__ = "watches"
    __table_args__ = (UniqueConstraint("cluster", "channel", name="uq_watch_cluster_channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cluster: Mapped[str] = mapped_column(String(100))  # `prod-db` or `account/region/prod-db`
    channel: Mapped[str] = mapped_column(String(32))
    thresholds: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    repeat_seconds: Mapped[int] = mapped_column(Integer)
    send_resolved: Mapped[bool]
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AlertStateRow(Base):
    __tablename__ = "alert_states"

    watch_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    family: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notified_count: Mapped[int] = mapped_column(Integer, default=0)
    peak: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Who clicked Acknowledge on this episode, and when: it holds until the episode's next notice
    # (an escalation, the resolution), that is while acknowledged_at > notified_at.
    acknowledged_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The message announcing this episode (alert_messages.key), edited in place as it changes.
    message_key: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # When its latest episode began, kept after the episode ends (the Home tab's "last fired").
    last_fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SilenceRow(Base):
    __tablename__ = "silences"

    cluster: Mapped[str] = mapped_column(String(100), primary_key=True)  # an address, as watches
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxRow(Base):
    """A digest owed to a channel. Written in the same transaction as the state change it
    reports; a sender posts it and marks it sent (see bot/adapters/slack/outbox_delivery.py)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Globally unique: put in the Slack message's metadata to find it again after a crash.
    key: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    blocks: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ts: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    # What to draw under the digest (see bot/views/chart_drawing.py), posted in its thread after it;
    # or None.
    chart: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The attempt under way: who claimed the row (the lease epoch; 0 without a lease), when, and
    # until when no one else may try it (see bot/adapters/slack/outbox_delivery.py). None between
    # attempts.
    claim_epoch: Mapped[int | None] = mapped_column(Integer, nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Not tried again before this time (Slack's Retry-After, or backoff after a transient error).
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The start of the first attempt whose outcome is unknown (it may have been posted): the
    # channel's history from then on is searched before posting again. None: surely not posted.
    unsure_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # What the row does to its alert message (message_key): `post` it, `update` it in place, or
    # `reply` in its thread; a row without a message is a post of its own.
    kind: Mapped[str] = mapped_column(String(8), default="post", server_default="post")
    message_key: Mapped[str | None] = mapped_column(String(32), nullable=True)


class AlertMessageRow(Base):
    """One Slack message announcing alert episodes (of the clusters that fired together in a
    channel), edited in place as they change: its parts as last shown, one per cluster, so one can
    change and the others stay; its ts once posted (a re-post after a person deleted it moves it)."""

    __tablename__ = "alert_messages"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    parts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    evaluated_to: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LeaseRow(Base):
    """Who may act as the digest scheduler's leader, until when. `epoch` grows at every change
    of holder: a statement that acts as the leader checks it, so an old holder's writes fail."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(100), nullable=True)
    epoch: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditRow(Base):
    """Every command and button click: who, where, when, what, and how it ended."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(500))  # the command text or button, truncated
    outcome: Mapped[str] = mapped_column(String(16))  # allowed, refused, invalid, error
    detail: Mapped[str] = mapped_column(String(500), default="")


class HeartbeatRow(Base):
    """The last time a job ran (the digest scheduler's tick), for /healthz in another process."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    detail: Mapped[str] = mapped_column(String(500), default="")


class RateSlotRow(Base):
    """The next free moment of one AWS request budget shared by every process (an account and
    region's FilterLogEvents, or its Logs Insights calls): bot/adapters/store/rate_slots.py."""

    __tablename__ = "rate_slots"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    next_free: Mapped[datetime] = mapped_column(UTCDateTime)
