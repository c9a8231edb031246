"""Slack listeners. `register(app, deps)` is the one place that lists every command and action."""

from __future__ import annotations

from slack_bolt import App

from bot.views.digest import SHOW_FAILURES_ACTION, SILENCE_ACTION
from bot.views.log_exports import ENABLE_LOGS_ACTION
from handlers.actions.buttons import button_listener
from handlers.actions.digest_buttons import show_failures_clicked, silence_clicked
from handlers.actions.enable_logs_button import enable_logs_clicked
from handlers.commands.slash_command import COMMAND, make_listener
from handlers.context import Deps

__all__ = ["Deps", "register"]


def register(app: App, deps: Deps) -> None:
    app.command(COMMAND)(make_listener(deps))
    app.action(SILENCE_ACTION)(button_listener(deps, silence_clicked))
    app.action(SHOW_FAILURES_ACTION)(button_listener(deps, show_failures_clicked))
    app.action(ENABLE_LOGS_ACTION)(button_listener(deps, enable_logs_clicked))
