"""Changes made to every log record as it is created, whoever logs and whichever handler writes it.

A record factory rather than a handler filter: it applies to every logger and every handler,
including libraries' and those that configured logging themselves (gunicorn, pytest).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

_lock = threading.Lock()
_installed: set[str] = set()


def add_record_hook(name: str, hook: Callable[[logging.LogRecord], None]) -> None:
    """Run `hook` on each new record from now on; a second call with the same name does nothing."""
    with _lock:
        if name in _installed:
            return
        _installed.add(name)
        previous = logging.getLogRecordFactory()

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            hook(record)
            return record

        logging.setLogRecordFactory(factory)
