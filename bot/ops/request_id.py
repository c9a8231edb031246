"""One id per command or button click, on every log line written while serving it.

The id lives in a ContextVar. Bolt runs each listener on a pooled thread, so a listener runs in a
copy of the context (a fresh id per call, nothing left behind on the thread); the work after the
ack carries the context to the job thread itself (`Deps.later`), since a thread starts with an
empty one.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import uuid
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from bot.ops.record_hooks import add_record_hook

P = ParamSpec("P")
R = TypeVar("R")

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "iamauth_request_id", default=None
)


def current() -> str | None:
    """The id of the request being served in this context, if any."""
    return _current.get()


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def new_request(listener: Callable[P, R]) -> Callable[P, R]:
    """Each call of `listener` gets its own request id. functools.wraps keeps the signature that
    Bolt inspects to choose the arguments it passes."""

    @functools.wraps(listener)
    def with_id(*args: P.args, **kwargs: P.kwargs) -> R:
        def call() -> R:
            _current.set(new_id())
            return listener(*args, **kwargs)

        return contextvars.copy_context().run(call)

    return with_id


def install() -> None:
    """Every log record gets `request_id` (None outside a request), whoever configured logging."""
    add_record_hook("request_id", _stamp)


def _stamp(record: logging.LogRecord) -> None:
    record.request_id = _current.get()
