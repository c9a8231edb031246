"""Calls that fail alone: run at once, each in its own thread; a failure of the expected kinds, or
no answer within the budget, is that call's result only, never the others'."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

MAX_PARALLEL = 8
TIMED_OUT = "timeout"


@dataclass(frozen=True)
class Failed:
    reason: str  # the exception's class name, or TIMED_OUT
    error: Exception | None = None


def each_alone(
    calls: Mapping[K, Callable[[], V]],
    *,
    alone: tuple[type[Exception], ...],
    budget: float | None = None,
    workers: int = MAX_PARALLEL,
) -> dict[K, V | Failed]:
    """Every call's result, or Failed for one that raised one of `alone` or was still running
    after `budget` seconds (None: wait for all). Any other exception is raised, once all ended
    or the budget is spent: a bug is not a place's bad luck.

    A late call is not stopped (Python threads cannot be), only no longer waited for: it ends
    when its own timeouts say so, and what it returns is dropped.
    """
    if not calls:
        return {}
    pool = ThreadPoolExecutor(min(workers, len(calls)), thread_name_prefix="each-alone")
    futures = {pool.submit(call): key for key, call in calls.items()}
    done, _ = wait(futures, timeout=budget)
    pool.shutdown(wait=False, cancel_futures=True)
    results: dict[K, V | Failed] = {}
    for future, key in futures.items():
        if future not in done:
            results[key] = Failed(TIMED_OUT)
            continue
        error = future.exception()
        if error is None:
            results[key] = future.result()
        elif isinstance(error, alone):
            results[key] = Failed(type(error).__name__, error)
        else:
            raise error
    return results
