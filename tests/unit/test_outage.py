"""Telling an unreachable database from one that refused, and the bounded spool of held entries."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, InternalError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.adapters.store.outage import Spool, unreachable


@pytest.mark.parametrize(
    ("error", "down"),
    [
        (OperationalError("SELECT 1", {}, ConnectionRefusedError()), True),
        (PoolTimeout("QueuePool limit reached"), True),
        (
            InternalError("INSERT", {}, RuntimeError("server closed"), connection_invalidated=True),
            True,
        ),
        (IntegrityError("INSERT", {}, RuntimeError("duplicate key")), False),
        (InternalError("INSERT", {}, RuntimeError("trigger refused")), False),
    ],
)
def test_unreachable_or_refused(error: SQLAlchemyError, down: bool) -> None:
    assert unreachable(error) is down


def test_the_spool_keeps_order_and_gives_back_what_could_not_be_written() -> None:
    spool: Spool[str] = Spool(limit=10)
    for item in ("a", "b"):
        spool.hold(item)
    taken = spool.take()
    assert (taken, len(spool)) == (["a", "b"], 0)
    spool.hold("c")  # held while the first two were being written
    spool.put_back(taken)
    assert spool.take() == ["a", "b", "c"]


def test_the_spool_is_bounded_and_drops_the_oldest(caplog: pytest.LogCaptureFixture) -> None:
    spool: Spool[str] = Spool(limit=3)
    for item in "abcde":
        spool.hold(item)
    assert spool.take() == ["c", "d", "e"]
    dropped = [r.getMessage() for r in caplog.records]
    assert dropped == [
        "dropped, the database unreachable too long: 'a'",
        "dropped, the database unreachable too long: 'b'",
    ]
    spool.hold("f")
    spool.put_back(["x", "y", "z"])
    assert spool.take() == ["y", "z", "f"]
