"""Secrets never reach a log line: every log record is redacted when it is created.

A record factory (not a handler filter) so that it applies to every logger and every handler,
including libraries' debug logs and tracebacks, whoever configured logging.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Iterable

# Slack tokens (bot, user, app-level, config) and AWS access key ids.
_PATTERNS = re.compile(r"xox[a-z]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False
REDACTED = "[redacted]"


def redact(text: str) -> str:
    text = _PATTERNS.sub(REDACTED, text)
    for secret in _secrets:
        text = text.replace(secret, REDACTED)
    return text


def register_secrets(values: Iterable[str | None]) -> None:
    """Values that are secret wherever they appear (signing secret, AWS secret key…)."""
    with _lock:
        _secrets.update(v for v in values if v and len(v) >= 8)


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what we have
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact(
                "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            )
        return record

    logging.setLogRecordFactory(factory)
