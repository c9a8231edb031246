"""Slack listeners. `register(app, deps)` is the one place that lists every command and action."""

from __future__ import annotations

from slack_bolt import App

from handlers.commands import COMMAND, make_listener
from handlers.context import Deps

__all__ = ["Deps", "register"]


def register(app: App, deps: Deps) -> None:
    app.command(COMMAND)(make_listener(deps))
