"""Logging set-up shared by every entry point: one handler on the root logger, text or JSON.

Server processes (`run`, `web`, `clock`, gunicorn's workers) log one JSON object a line by default,
for log pipelines; terminal commands log human text. IAMAUTH_LOG_FORMAT=json|text overrides both.
python-json-logger is a stdlib `logging.Formatter`, so every library's records (Bolt, botocore,
gunicorn) and the record hooks (redaction, request id) keep working unchanged.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from bot.ops import redact, request_id

FORMAT_ENV = "IAMAUTH_LOG_FORMAT"
FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Marks the handler configure_logging owns, so calling it again replaces it instead of adding one.
_OURS = "_iamauth_handler"


class JsonLines(JsonFormatter):
    """time (UTC, ISO 8601), level, logger, message, request_id when there is one, exc_info."""

    def __init__(self) -> None:
        super().__init__(
            "{levelname}{name}{message}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
        )

    def formatException(self, ei: Any) -> str:
        # The redacting record factory fills exc_text, but this formatter formats exc_info anew.
        return redact.redact(str(super().formatException(ei)))

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        if log_data.get("request_id") is None:
            log_data.pop("request_id", None)
        return {"time": log_data.pop("time"), **log_data}


# Every character str.splitlines() ends a line at: in a text log each record is one line, so a
# message holding text from outside (a request, a log line, an error) cannot forge another record.
_LINE_BREAKS = str.maketrans(
    {c: c.encode("unicode_escape").decode() for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}
)


class OneLineText(logging.Formatter):
    """TEXT_FORMAT with line breaks in the record escaped (\\n); a traceback or stack that follows
    keeps its lines, each indented, so none can pass for a record."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        return super().formatMessage(record).translate(_LINE_BREAKS)

    def format(self, record: logging.LogRecord) -> str:
        line, _, trace = super().format(record).partition("\n")
        if not trace:
            return line
        indented = ("    " + part.translate(_LINE_BREAKS) for part in trace.split("\n"))
        return "\n".join([line, *indented])


def log_format(default: str) -> str:
    chosen = os.environ.get(FORMAT_ENV, "").strip().lower()
    return chosen if chosen in FORMATS else default


def make_handler(fmt: str) -> logging.Handler:
    """A stderr handler writing `fmt` ("json" or "text"); also named by gunicorn_conf's dictConfig."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if fmt == "json" else OneLineText())
    setattr(handler, _OURS, True)
    return handler


def configure_logging(level: str | None = None, *, json_default: bool = False) -> None:
    redact.install()
    request_id.install()
    fmt = log_format("json" if json_default else "text")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
    root.addHandler(make_handler(fmt))
    root.setLevel(log_level(level))
    # moto's embedded server and werkzeug log every request; the demo would drown in them.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # Alembic names each of its plugins at start; the migrations it runs are still logged.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    wanted = os.environ.get(FORMAT_ENV, "").strip().lower()
    if wanted and wanted not in FORMATS:
        logging.getLogger(__name__).warning(
            "%s=%r is neither json nor text; logging %s", FORMAT_ENV, wanted, fmt
        )


def log_level(level: str | None = None) -> str:
    return (level or os.environ.get("IAMAUTH_LOG_LEVEL") or "INFO").upper()
