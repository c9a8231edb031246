"""The leader's lease row and its fencing token, as statements inside a caller's transaction.

A lease names its holder, an epoch and an expiry. Taking it from another holder (released, or
expired: the holder stopped making progress) increments the epoch. Every statement that acts as
the leader (writing a tick's digests, claiming an outbox row) first renews the lease *where holder
and epoch are still this process's*, in the same transaction: once another process took over, the
old holder's writes find no row and fail with LeaseLost. The renewal is an UPDATE, so on
PostgreSQL it also locks the lease row until commit: a takeover waits for a write in progress,
then sees the renewed expiry and gives up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, true, update
from sqlalchemy.orm import Session

from bot.adapters.store.models import LeaseRow


class LeaseLost(Exception):
    """Another process holds the lease now: this one must not act as the leader any more."""


@dataclass(frozen=True)
class Fence:
    """The right to act as the leader, checked by each statement that does: lease `name` held by
    `holder` at `epoch`; each check renews it for `ttl`."""

    name: str
    holder: str
    epoch: int
    ttl: timedelta


def rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount or 0)


def renew(session: Session, fence: Fence, now: datetime) -> None:
    """Raises LeaseLost unless the lease is still the fence's; renews it otherwise."""
    renewed = session.execute(
        update(LeaseRow)
        .where(
            LeaseRow.name == fence.name,
            LeaseRow.holder == fence.holder,
            LeaseRow.epoch == fence.epoch,
        )
        .values(expires_at=now + fence.ttl)
        .execution_options(synchronize_session=False)
    )
    if rowcount(renewed) != 1:
        raise LeaseLost(f"lease {fence.name!r} epoch {fence.epoch} is no longer held")


def take(
    session: Session, name: str, holder: str, now: datetime, ttl: timedelta, *, at_once: bool
) -> int | None:
    """The epoch under which `holder` leads from now on, or None while another holder's lease
    runs. Renews the holder's own lease; takes a released or expired one (or any, `at_once`: the
    caller knows no other holder is alive) with a new epoch."""
    expires = now + ttl
    mine = session.execute(
        update(LeaseRow)
        .where(LeaseRow.name == name, LeaseRow.holder == holder)
        .values(expires_at=expires)
        .execution_options(synchronize_session=False)
    )
    if rowcount(mine) == 0:
        free = true() if at_once else or_(LeaseRow.holder.is_(None), LeaseRow.expires_at <= now)
        taken = session.execute(
            update(LeaseRow)
            .where(LeaseRow.name == name, free)
            .values(holder=holder, epoch=LeaseRow.epoch + 1, expires_at=expires)
            .execution_options(synchronize_session=False)
        )
        if rowcount(taken) == 0:
            if session.get(LeaseRow, name) is not None:
                return None
            # The first lease ever: a concurrent first insert fails this one's commit instead.
            session.add(LeaseRow(name=name, holder=holder, epoch=1, expires_at=expires))
            return 1
    return session.scalar(select(LeaseRow.epoch).where(LeaseRow.name == name))


def give_back(session: Session, name: str, holder: str, now: datetime) -> None:
    """Ends `holder`'s lease now, so another process may take over at its next tick."""
    session.execute(
        update(LeaseRow)
        .where(LeaseRow.name == name, LeaseRow.holder == holder)
        .values(holder=None, expires_at=now)
        .execution_options(synchronize_session=False)
    )
