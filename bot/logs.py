"""Logging set-up shared by every entry point."""

from __future__ import annotations

import logging
import os

from bot import redact


def configure_logging(level: str | None = None) -> None:
    redact.install()
    logging.basicConfig(
        level=(level or os.environ.get("IAMAUTH_LOG_LEVEL") or "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # moto's embedded server and werkzeug log every request; the demo would drown in them.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
