"""Slack listeners. `register(app, deps)` is the one place that lists every command and action."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.render_digest import SHOW_FAILURES_ACTION, SILENCE_ACTION
from bot.slack.render_logs import ENABLE_LOGS_ACTION
from handlers.actions import show_failures_clicked, silence_clicked
from handlers.buttons import button_listener
from handlers.commands import COMMAND, make_listener
from handlers.context import Deps
from handlers.log_export_button import enable_logs_clicked

__all__ = ["Deps", "register"]


def register(app: App, deps: Deps) -> None:
    app.command(COMMAND)(make_listener(deps))
    app.action(SILENCE_ACTION)(button_listener(deps, silence_clicked))
    app.action(SHOW_FAILURES_ACTION)(button_listener(deps, show_failures_clicked))
    app.action(ENABLE_LOGS_ACTION)(button_listener(deps, enable_logs_clicked))
