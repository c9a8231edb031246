"""Secrets never reach a log line: every log record is redacted when it is created (a record
hook, so it applies to every logger and handler, libraries' debug logs and tracebacks included)."""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Iterable

from bot.record_hooks import add_record_hook

# Slack tokens (bot, user, app-level, config) and AWS access key ids.
_PATTERNS = re.compile(r"xox[a-z]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
_secrets: set[str] = set()
_lock = threading.Lock()
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
    add_record_hook("redact", _redact_record)


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep what we have
        message = str(record.msg)
    record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
