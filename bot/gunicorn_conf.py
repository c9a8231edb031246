"""gunicorn settings for the web process, read by the Procfile's line and by `iamauth web`
(`gunicorn --config python:bot.gunicorn_conf …`), in the master before it forks any worker.

Metrics: each worker is a process with its own counters, and /metrics is answered by whichever
worker gets the request. prometheus_client's multiprocess mode has every worker write its counters
to files in PROMETHEUS_MULTIPROC_DIR, and /metrics sums them. The variable must be set before
prometheus_client is imported, hence here, in the master: without one from the operator, a fresh
directory is made and removed at exit; one given is emptied first, since counters left from an
earlier run would be added in.

Logs: gunicorn's own loggers (gunicorn.error, gunicorn.access) go to the root handler, so they are
JSON lines like the bot's (IAMAUTH_LOG_FORMAT=text for text).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bot.logs import log_format, log_level

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # as in bot.telemetry, which must not be imported yet

_made_dir: str | None = None
if os.environ.get(MULTIPROC_ENV):
    Path(os.environ[MULTIPROC_ENV]).mkdir(parents=True, exist_ok=True)
    for stale in Path(os.environ[MULTIPROC_ENV]).glob("*.db"):
        stale.unlink()
else:
    _made_dir = tempfile.mkdtemp(prefix="iamauth-metrics-")
    os.environ[MULTIPROC_ENV] = _made_dir

accesslog = "-"
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": log_level(), "handlers": ["iamauth"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
    },
    "handlers": {"iamauth": {"()": "bot.logs.make_handler", "fmt": log_format("json")}},
    "formatters": {},
}


def child_exit(server: Any, worker: Any) -> None:
    """A worker ended: its live-gauge files go (counters stay, so totals never drop)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    if _made_dir:
        shutil.rmtree(_made_dir, ignore_errors=True)
