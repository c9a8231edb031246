"""`iamauth web`: gunicorn serving the WSGI app, the same command line as the Procfile's `web:`.

gunicorn runs in a fresh process (exec) rather than inside this one: bot/web/gunicorn_conf.py must
set PROMETHEUS_MULTIPROC_DIR before prometheus_client is first imported, and this process imported
it already (the CLI imports bot/ops/telemetry.py).
"""

from __future__ import annotations

import os
import sys

from bot.config import Settings
from bot.web.request_limits import web_limits

CONFIG_MODULE = "python:bot.web.gunicorn_conf"
APP = "bot.bootstrap:create_wsgi_app()"
# gthread, whose threads are given only requests that have arrived whole.
WORKER_CLASS = "bot.web.gunicorn_worker.RequestBufferingWorker"


def gunicorn_argv(port: int, *, workers: int, threads: int) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn", "--config", CONFIG_MODULE,
        "--bind", f"0.0.0.0:{port}", "--worker-class", WORKER_CLASS,
        "--workers", str(workers), "--threads", str(threads), APP,
    ]  # fmt: skip


def serve(settings: Settings, *, workers: int, threads: int) -> int:
    # Fail before starting gunicorn when the configuration cannot work.
    if not settings.slack_bot_token or not settings.slack_signing_secret:
        print(
            "iamauth: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET must be set for `iamauth web`.",
            file=sys.stderr,
        )
        return 2
    try:
        web_limits()
    except ValueError as error:
        print(f"iamauth: {error}", file=sys.stderr)
        return 2
    argv = gunicorn_argv(settings.port, workers=workers, threads=threads)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)  # noqa: S606  # our own interpreter and arguments, no shell
    return 0  # not reached: exec replaces this process
