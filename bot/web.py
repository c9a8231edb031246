"""`iamauth web`: gunicorn serving the WSGI app, the same as the Procfile's `web:` line."""

from __future__ import annotations

import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from bot.config import ConfigError, Settings


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from bot.slack.app import create_wsgi_app

        return create_wsgi_app()


def serve(settings: Settings, *, workers: int, threads: int) -> int:
    # Fail before forking workers when the configuration cannot work.
    if not settings.slack_bot_token or not settings.slack_signing_secret:
        print(
            "iamauth: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET must be set for `iamauth web`.",
            file=sys.stderr,
        )
        return 2
    try:
        _Gunicorn(
            {
                "bind": f"0.0.0.0:{settings.port}",
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread",
                "accesslog": "-",
            }
        ).run()
    except ConfigError as error:
        print(f"iamauth: {error}", file=sys.stderr)
        return 2
    return 0
