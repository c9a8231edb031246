"""The store: watches, alert states, silences and the outbox, each change in one transaction.

A change made by a person (a watch, a silence) takes its audit entry and writes it in the same
transaction: the change and its record commit together or not at all.
"""

from __future__ import annotations

import logging
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.store.db import make_engine, migrate
from bot.adapters.store.fence import Fence, give_back, renew, rowcount, take
from bot.adapters.store.models import (
    AlertMessageRow,
    AlertStateRow,
    AuditRow,
    HeartbeatRow,
    OutboxRow,
    SilenceRow,
    WatchRow,
)
from bot.adapters.store.outage import Spool, unreachable
from bot.domain.address import Address, parse_address
from bot.domain.alerts import AlertState, StateKey, Status, Threshold
from bot.domain.records import Family
from bot.domain.watches import Watch

_SPACES = frozenset("\t\n\r\v\f")
# What an outbox row does to its alert message (OutboxRow.kind).
POST, UPDATE, REPLY = "post", "update", "reply"
MESSAGE_KEEP = timedelta(days=7)  # an alert message nothing names any more is kept this long
log = logging.getLogger(__name__)


def storable(text: str, limit: int) -> str:
    """People's text as a database can hold it and a reader can trust it: control characters
    (PostgreSQL refuses NUL in text) and lone surrogates (not encodable) become U+FFFD, or a
    space for line breaks and tabs; then cut to `limit` characters."""
    return "".join(
        (" " if c in _SPACES else "\ufffd") if unicodedata.category(c) in ("Cc", "Cs") else c
        for c in text[:limit]
    )


@dataclass(frozen=True)
class Silence:
    cluster: Address
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
    # When an attempt that may have been posted began (search the history from then), or None.
    unsure_since: datetime | None = None
    last_error: str | None = None
    kind: str = POST  # what the row does to its alert message: POST, UPDATE or REPLY
    message_key: str | None = None


def _outbox_item(r: OutboxRow) -> OutboxItem:
    return OutboxItem(
        r.id, r.key, r.channel, r.text, r.blocks, r.created_at, r.attempts, r.chart,
        r.unsure_since, r.last_error, r.kind or POST, r.message_key,
    )  # fmt: skip


@dataclass(frozen=True)
class MessagePart:
    """One cluster's part of an alert message: its watch, the count of each family it shows,
    and its rendering as the renderer stores it (opaque here)."""

    watch_key: str
    counts: Mapping[str, int]
    view: Mapping[str, Any]
    acknowledged_by: str | None = None  # who the part shows on it


@dataclass(frozen=True)
class AlertMessage:
    """A message announcing alert episodes, edited in place: its parts as last shown."""

    key: str
    channel: str
    parts: tuple[MessagePart, ...]
    evaluated_to: datetime
    updated_at: datetime
    ts: str | None = None  # once posted


def _alert_message(row: AlertMessageRow) -> AlertMessage:
    parts = tuple(
        MessagePart(
            str(p["watch_key"]),
            dict(p.get("counts") or {}),
            dict(p.get("view") or {}),
            p.get("acknowledged_by"),
        )
        for p in row.parts
    )
    return AlertMessage(row.key, row.channel, parts, row.evaluated_to, row.updated_at, row.ts)


# No attempt under way: the claim columns of a row between attempts.
_UNCLAIMED: dict[str, Any] = {"claim_epoch": None, "claimed_at": None, "claimed_until": None}


def _end_attempt(session: Session, item: OutboxItem, **values: Any) -> bool:
    """Changes the row only while `item`'s attempt is its latest (each claim counts one): an
    attempt overtaken by another holder's never touches the newer one's claim."""
    changed = session.execute(
        update(OutboxRow)
        .where(
            OutboxRow.id == item.id,
            OutboxRow.status == "pending",
            OutboxRow.attempts == item.attempts,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(changed) == 1


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
    kind: str = POST
    message: str | None = None  # the alert message it posts, updates or replies under


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


def _watch(row: WatchRow) -> Watch:
    return Watch(
        parse_address(row.cluster),  # stored as str(address): parsed back, once, here
        row.channel,
        tuple(_threshold_from_json(t) for t in row.thresholds),
        timedelta(seconds=row.repeat_seconds),
        row.send_resolved,
        "slack",
        row.created_by,
    )


def _acknowledged(row: AlertStateRow) -> bool:
    """An acknowledgement holds until the episode's next notice (or its end)."""
    ack = row.acknowledged_at
    return (
        row.acknowledged_by is not None
        and ack is not None
        and row.notified_at is not None
        and ack >= row.notified_at
    )


def _alert_state(row: AlertStateRow) -> AlertState:
    acked = _acknowledged(row)
    return AlertState(
        Status(row.status), row.since, row.notified_at, row.notified_count, row.peak,
        row.acknowledged_by if acked else None, row.acknowledged_at if acked else None,
        row.message_key,
    )  # fmt: skip


def _by_family(rows: Iterable[AlertStateRow]) -> dict[Family, AlertState]:
    return {Family(row.family): _alert_state(row) for row in rows}


def _pending(digest: Digest, now: datetime) -> OutboxRow:
    """A new outbox row owing `digest` to its channel."""
    return OutboxRow(
        key=uuid.uuid4().hex,
        channel=digest.channel,
        text=digest.text,
        blocks=digest.blocks,
        chart=digest.chart,
        created_at=now,
        status="pending",
        attempts=0,
        kind=digest.kind,
        message_key=digest.message,
    )


def _add_audit(session: Session, entry: AuditEntry | None) -> None:
    if entry is not None:
        session.add(
            AuditRow(
                at=entry.at,
                user_id=storable(entry.user_id, 32),
                channel_id=storable(entry.channel_id, 32),
                action=storable(entry.action, 500),
                outcome=storable(entry.outcome, 16),
                detail=storable(entry.detail, 500),
            )
        )


def _forget_quiet_messages(session: Session, now: datetime) -> None:
    """Alert messages no alert state and no pending row names, unchanged for MESSAGE_KEEP: nothing
    will edit them again (what they said stays in Slack)."""
    named = select(AlertStateRow.message_key).where(AlertStateRow.message_key.is_not(None))
    owed = select(OutboxRow.message_key).where(
        OutboxRow.status == "pending", OutboxRow.message_key.is_not(None)
    )
    session.execute(
        delete(AlertMessageRow).where(
            AlertMessageRow.updated_at < now - MESSAGE_KEEP,
            AlertMessageRow.key.not_in(named),
            AlertMessageRow.key.not_in(owed),
        )
    )


def _save_message(session: Session, message: AlertMessage) -> None:
    """Its parts as the tick rendered them; its ts is the sender's (mark_sent), never the tick's."""
    parts = [
        {
            "watch_key": p.watch_key,
            "counts": dict(p.counts),
            "view": dict(p.view),
            "acknowledged_by": p.acknowledged_by,
        }
        for p in message.parts
    ]
    row = session.get(AlertMessageRow, message.key)
    if row is None:
        session.add(
            AlertMessageRow(
                key=message.key, channel=message.channel, ts=None, parts=parts,
                evaluated_to=message.evaluated_to, created_at=message.updated_at,
                updated_at=message.updated_at,
            )
        )  # fmt: skip
        return
    row.parts, row.evaluated_to, row.updated_at = parts, message.evaluated_to, message.updated_at


# What an unwatch owes the watch's channel, given the watch, its alert states and the alert
# message of its episode (if it has one): the rows to write (a last digest; or an edit of that
# message and a reply in its thread) and the message as it will show.
Farewell = Callable[
    [Watch, Mapping[Family, AlertState], AlertMessage | None],
    tuple[Sequence[Digest], AlertMessage | None],
]


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # Audit entries the database could not take, written before the next one it can.
        self.held_audit: Spool[AuditEntry] = Spool()

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
            return [_watch(row) for row in rows]

    def save_watch(self, watch: Watch, now: datetime, audit: AuditEntry | None = None) -> bool:
        """Add or replace the watch of (cluster, channel); True when it was new."""
        self.write_held_audit()
        with self.session() as session, session.begin():
            _add_audit(session, audit)
            row = session.scalar(
                select(WatchRow).where(
                    WatchRow.cluster == str(watch.cluster), WatchRow.channel == watch.channel
                )
            )
            new = row is None
            if row is None:
                row = WatchRow(cluster=str(watch.cluster), channel=watch.channel, created_at=now)
                session.add(row)
            row.thresholds = [_threshold_to_json(t) for t in watch.thresholds]
            row.repeat_seconds = int(watch.repeat.total_seconds())
            row.send_resolved = watch.send_resolved
            row.created_by = watch.created_by
            return new

    def delete_watches(
        self,
        cluster: Address,
        channel: str | None,
        audit: AuditEntry | None = None,
        *,
        farewell: Farewell | None = None,
        now: datetime | None = None,
    ) -> int:
        """Delete the Slack watches of `cluster` (for `channel`, or for all) and their alert
        states; with `farewell`, also write to the outbox the last digest each watch's channel is
        owed (created `now`). One transaction: all of it or none. Returns how many were deleted."""
        self.write_held_audit()
        with self.session() as session, session.begin():
            _add_audit(session, audit)
            query = select(WatchRow).where(WatchRow.cluster == str(cluster))
            if channel is not None:
                query = query.where(WatchRow.channel == channel)
            rows = list(session.scalars(query.with_for_update()))
            for row in rows:
                watch = _watch(row)
                states = session.scalars(
                    select(AlertStateRow).where(AlertStateRow.watch_key == watch.key)
                )
                by_family = _by_family(states)
                if farewell is not None:
                    keys = {s.message for s in by_family.values() if s.message and s.announced}
                    row_of = session.get(AlertMessageRow, min(keys)) if keys else None
                    message = _alert_message(row_of) if row_of is not None else None
                    digests, shown = farewell(watch, by_family, message)
                    if shown is not None:
                        _save_message(session, shown)
                    session.add_all(_pending(d, now or datetime.now(UTC)) for d in digests)
                session.execute(delete(AlertStateRow).where(AlertStateRow.watch_key == watch.key))
                session.delete(row)
            return len(rows)

    # Silences -----------------------------------------------------------------------------
    def silence(
        self,
        cluster: Address,
        until: datetime,
        reason: str,
        by: str | None,
        now: datetime,
        audit: AuditEntry | None = None,
    ) -> None:
        """Silence `cluster` (a short name or an address, see bot/domain/address.py)."""
        self.write_held_audit()
        with self.session() as session, session.begin():
            _add_audit(session, audit)
            row = session.get(SilenceRow, str(cluster))
            if row is None:
                row = SilenceRow(cluster=str(cluster))
                session.add(row)
            row.until, row.created_by, row.created_at = until, by, now
            row.reason = storable(reason, 500)

    def unsilence(self, cluster: Address, audit: AuditEntry | None = None) -> bool:
        self.write_held_audit()
        with self.session() as session, session.begin():
            _add_audit(session, audit)
            result = session.execute(delete(SilenceRow).where(SilenceRow.cluster == str(cluster)))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def active_silences(self, now: datetime) -> dict[Address, Silence]:
        with self.session() as session:
            rows = session.scalars(select(SilenceRow).where(SilenceRow.until > now))
            silences = [
                Silence(parse_address(r.cluster), r.until, r.reason, r.created_by) for r in rows
            ]
            return {s.cluster: s for s in silences}

    # Alert state and the outbox: written together ------------------------------------------
    def alert_states(self) -> dict[StateKey, AlertState]:
        with self.session() as session:
            return {
                (row.watch_key, Family(row.family)): _alert_state(row)
                for row in session.scalars(select(AlertStateRow))
            }

    def commit_tick(
        self,
        states: Mapping[StateKey, AlertState],
        digests: Iterable[Digest],
        now: datetime,
        *,
        stale_keys: Iterable[str] = (),
        fence: Fence | None = None,
        messages: Iterable[AlertMessage] = (),
    ) -> list[int]:
        """State transitions, the digests they owe and the alert messages as they will show, in
        one transaction: all or nothing.
        With a fence, only while its lease holds (else LeaseLost, and nothing is written): a
        scheduler that lost the lead mid-tick must not write the digests its successor writes."""
        with self.session() as session, session.begin():
            if fence is not None:
                renew(session, fence, now)
            for (watch_key, family), state in states.items():
                row = session.get(AlertStateRow, (watch_key, family.value))
                if row is None:
                    row = AlertStateRow(watch_key=watch_key, family=family.value)
                    session.add(row)
                row.status = state.status.value
                row.since, row.notified_at = state.since, state.notified_at
                row.notified_count, row.peak, row.updated_at = state.notified_count, state.peak, now
                row.message_key = state.message
                if state.since is not None:
                    row.last_fired_at = state.since
                # The acknowledgement is the clicker's, never the tick's to write: it lapses by
                # itself at the next notice (see _acknowledged), and one clicked while this
                # tick ran is kept.
                if not _acknowledged(row):
                    row.acknowledged_by = row.acknowledged_at = None
            for key in stale_keys:
                session.execute(delete(AlertStateRow).where(AlertStateRow.watch_key == key))
            for message in messages:
                _save_message(session, message)
            _forget_quiet_messages(session, now)
            rows = [_pending(d, now) for d in digests]
            session.add_all(rows)
            session.flush()
            return [row.id for row in rows]

    def acknowledge(
        self, watch_keys: Iterable[str], by: str, now: datetime, audit: AuditEntry | None = None
    ) -> list[Family]:
        """`by` is on the announced, firing alerts of the watches `watch_keys`: their repeats
        stop until the next notice. With its audit entry, in one transaction. Returns the
        families acknowledged (none: nothing of theirs is firing)."""
        self.write_held_audit()
        with self.session() as session, session.begin():
            _add_audit(session, audit)
            rows = session.scalars(
                select(AlertStateRow)
                .where(
                    AlertStateRow.watch_key.in_(list(watch_keys)),
                    AlertStateRow.status == Status.FIRING.value,
                    AlertStateRow.notified_at.is_not(None),
                )
                .order_by(AlertStateRow.family)
                .with_for_update()
            )
            families = []
            for row in rows:
                row.acknowledged_by = storable(by, 32)
                # Never before the notice it acknowledges, whatever this clock says.
                notified = row.notified_at or now
                row.acknowledged_at = max(now, notified)
                families.append(Family(row.family))
            return families

    def pending(self) -> list[OutboxItem]:
        with self.session() as session:
            rows = session.scalars(
                select(OutboxRow).where(OutboxRow.status == "pending").order_by(OutboxRow.id)
            )
            return [_outbox_item(r) for r in rows]

    def claim(
        self, outbox_id: int, now: datetime, until: datetime, fence: Fence | None
    ) -> OutboxItem | None:
        """Begins an attempt at a pending row, counted in `attempts`, and keeps every other
        process off it until `until`. None when the row is not due yet, is being tried by another
        holder, or is pending no more. With a fence, in one transaction with the lease check
        (LeaseLost when it fails); without one (a single scheduler), under epoch 0. The same
        epoch may claim its own row again at once: its earlier attempt ended, unrecorded."""
        epoch = fence.epoch if fence is not None else 0
        with self.session() as session, session.begin():
            if fence is not None:
                renew(session, fence, now)
            claimed = session.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.id == outbox_id,
                    OutboxRow.status == "pending",
                    or_(OutboxRow.retry_at.is_(None), OutboxRow.retry_at <= now),
                    or_(
                        OutboxRow.claimed_until.is_(None),
                        OutboxRow.claimed_until <= now,
                        OutboxRow.claim_epoch == epoch,
                    ),
                )
                .values(
                    # An attempt still claimed never recorded its end: it may have been posted.
                    unsure_since=func.coalesce(OutboxRow.unsure_since, OutboxRow.claimed_at),
                    claim_epoch=epoch,
                    claimed_at=now,
                    claimed_until=until,
                    attempts=OutboxRow.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            if rowcount(claimed) != 1:
                return None
            row = session.get(OutboxRow, outbox_id)
            return _outbox_item(row) if row is not None else None

    def confirm(
        self, item: OutboxItem, now: datetime, until: datetime, fence: Fence | None
    ) -> bool:
        """Right before posting: True while the lease (LeaseLost otherwise) and this attempt's
        claim still hold, the claim extended to `until`."""
        with self.session() as session, session.begin():
            if fence is not None:
                renew(session, fence, now)
            return _end_attempt(session, item, claimed_until=until)

    def mark_attempt(self, outbox_id: int) -> None:
        with self.session() as session, session.begin():
            row = session.get(OutboxRow, outbox_id)
            if row is not None:
                row.attempts += 1

    def mark_sent(
        self, outbox_id: int, ts: str | None, now: datetime, *, message: str | None = None
    ) -> None:
        """Posted (by whichever attempt): recorded even when the claim was lost meanwhile. With
        `message`, the row posted that alert message (first, or again): it is at `ts` now."""
        with self.session() as session, session.begin():
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == outbox_id, OutboxRow.status == "pending")
                .values(status="sent", ts=ts, sent_at=now, **_UNCLAIMED)
                .execution_options(synchronize_session=False)
            )
            if message is not None and ts is not None:
                session.execute(
                    update(AlertMessageRow)
                    .where(AlertMessageRow.key == message)
                    .values(ts=ts)
                    .execution_options(synchronize_session=False)
                )

    def last_fired(self) -> dict[str, datetime]:
        """When each watch's latest episode began (of any family), whether or not it ended."""
        with self.session() as session:
            rows = session.execute(
                select(AlertStateRow.watch_key, func.max(AlertStateRow.last_fired_at))
                .where(AlertStateRow.last_fired_at.is_not(None))
                .group_by(AlertStateRow.watch_key)
            )
            return {key: at for key, at in rows if at is not None}

    def alert_messages(self, keys: Iterable[str]) -> dict[str, AlertMessage]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        with self.session() as session:
            rows = session.scalars(select(AlertMessageRow).where(AlertMessageRow.key.in_(wanted)))
            return {row.key: _alert_message(row) for row in rows}

    def message_ts(self, key: str) -> str | None:
        """Where the alert message is in its channel, or None: not posted (yet, or for good)."""
        with self.session() as session:
            row = session.get(AlertMessageRow, key)
            return row.ts if row is not None else None

    def message_gone(self, key: str, ts: str) -> None:
        """The message at `ts` was deleted in Slack: the next row that edits it posts it again."""
        with self.session() as session, session.begin():
            session.execute(
                update(AlertMessageRow)
                .where(AlertMessageRow.key == key, AlertMessageRow.ts == ts)
                .values(ts=None)
                .execution_options(synchronize_session=False)
            )

    def retry_later(
        self, item: OutboxItem, error: str, retry_at: datetime, *, maybe_posted: bool
    ) -> None:
        """Ends an attempt that did not post (as far as we know: `maybe_posted` when it may
        have): the row is tried again from `retry_at`."""
        doubt = (
            {"unsure_since": func.coalesce(OutboxRow.unsure_since, OutboxRow.claimed_at)}
            if maybe_posted
            else {}
        )
        with self.session() as session, session.begin():
            _end_attempt(
                session, item, last_error=error[:2000], retry_at=retry_at, **doubt, **_UNCLAIMED
            )

    def give_up(self, item: OutboxItem, status: str, error: str) -> None:
        """Ends an attempt and the row: `failed` (Slack refused it) or `expired` (too old)."""
        with self.session() as session, session.begin():
            _end_attempt(session, item, status=status, last_error=error[:2000], **_UNCLAIMED)

    def outbox(self) -> list[OutboxRow]:
        with self.session() as session:
            return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))

    # The scheduler's lease (bot/adapters/store/fence.py) ----------------------------------
    def take_lease(
        self, name: str, holder: str, now: datetime, ttl: timedelta, *, at_once: bool = False
    ) -> int | None:
        """The epoch under which `holder` leads, or None while another holder's lease runs."""
        try:
            with self.session() as session, session.begin():
                return take(session, name, holder, now, ttl, at_once=at_once)
        except IntegrityError:  # another process wrote the first lease row at the same moment
            return None

    def release_lease(self, name: str, holder: str, now: datetime) -> None:
        with self.session() as session, session.begin():
            give_back(session, name, holder, now)

    # Audit log ----------------------------------------------------------------------------
    def record_audit(self, entry: AuditEntry) -> None:
        """An audit entry of its own (a read, a refusal); a change writes its entry itself.
        While the database cannot be reached the entry is held, and the error raised."""
        try:
            self.write_held_audit()
            with self.session() as session, session.begin():
                _add_audit(session, entry)
        except SQLAlchemyError as error:
            if unreachable(error):
                self.held_audit.hold(entry)
            raise

    def write_held_audit(self) -> None:
        """The held audit entries, in a transaction of their own, before any other write: raises
        while the database is still unreachable (they are held again). Entries it refuses (not
        an outage: they would never go in) are given up, each logged in full."""
        held = self.held_audit.take()
        if not held:
            return
        try:
            with self.session() as session, session.begin():
                for entry in held:
                    _add_audit(session, entry)
        except SQLAlchemyError as error:
            if unreachable(error):
                self.held_audit.put_back(held)
                raise
            for entry in held:
                log.error("held audit entry refused by the database, given up: %r", entry)
            return
        log.info("wrote %d audit entries held while the database was unreachable", len(held))

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
