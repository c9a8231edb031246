"""gunicorn settings for the web process, read by the Procfile's line and by `iamauth web`
(`gunicorn --config python:bot.web.gunicorn_conf …`), in the master before it forks any worker.

Metrics: each worker is a process with its own counters, and /metrics is answered by whichever
worker gets the request. prometheus_client's multiprocess mode has every worker write its counters
to files in PROMETHEUS_MULTIPROC_DIR, and /metrics sums them. The variable must be set before
prometheus_client is imported, hence here, in the master: without one from the operator, a fresh
directory is made and removed at exit; one given is emptied first, since counters left from an
earlier run would be added in.

Logs: gunicorn's own loggers (gunicorn.error, gunicorn.access) go to the root handler, so they are
JSON lines like the bot's (IAMAUTH_LOG_FORMAT=text for text).

Limits: the worker class (bot/web/gunicorn_worker.py) gives a thread only a request that has arrived
whole within IAMAUTH_REQUEST_TIMEOUT_SECONDS, and the guard on /slack/events
(bot/web/request_guard.py) caps the body at IAMAUTH_MAX_BODY_BYTES; the settings below bound the
rest.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from bot.ops.logging_setup import log_format, log_level
from bot.web.request_limits import web_limits

MULTIPROC_ENV = (
    "PROMETHEUS_MULTIPROC_DIR"  # as in bot.ops.telemetry, which must not be imported yet
)

_made_dir: str | None = None
if os.environ.get(MULTIPROC_ENV):
    Path(os.environ[MULTIPROC_ENV]).mkdir(parents=True, exist_ok=True)
    for stale in Path(os.environ[MULTIPROC_ENV]).glob("*.db"):
        stale.unlink()
else:
    _made_dir = tempfile.mkdtemp(prefix="iamauth-metrics-")
    os.environ[MULTIPROC_ENV] = _made_dir

try:  # here, in the master, a wrong value stops the start with one line, not a worker traceback
    web_limits()
except ValueError as error:
    sys.exit(f"iamauth: {error}")

# Slack sends a dozen short headers; proxies add a few.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
# Requests still arriving wait on each worker's selector, not in a thread: each holds a socket and
# at most the body cap, and all of a worker's together at most 64 MiB (bot/web/gunicorn_worker.py).
worker_connections = 1000
# A worker whose loop has not reported for this long is replaced (the loop reports every second).
timeout = 30
# On SIGTERM (a deploy), commands being answered get this long to finish (platforms kill at 30 s).
graceful_timeout = 25
# Behind a router connections are reused; a kept-alive one waits on the selector, not in a thread.
keepalive = 5

accesslog = "-"
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": log_level(), "handlers": ["iamauth"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
    },
    "handlers": {
        "iamauth": {"()": "bot.ops.logging_setup.make_handler", "fmt": log_format("json")}
    },
    "formatters": {},
}


def child_exit(server: Any, worker: Any) -> None:
    """A worker ended: its live-gauge files go (counters stay, so totals never drop)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    if _made_dir:
        shutil.rmtree(_made_dir, ignore_errors=True)
