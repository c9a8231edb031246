"""Slack listeners. `register(app, deps)` is the one place that lists every command and action."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.render_digest import SHOW_FAILURES_ACTION, SILENCE_ACTION
from bot.slack.render_logs import ENABLE_LOGS_ACTION
from handlers.actions import make_show_failures_listener, make_silence_listener
from handlers.commands import COMMAND, make_listener
from handlers.context import Deps
from handlers.log_export_button import make_enable_logs_listener

__all__ = ["Deps", "register"]


def register(app: App, deps: Deps) -> None:
    app.command(COMMAND)(make_listener(deps))
    app.action(SILENCE_ACTION)(make_silence_listener(deps))
    app.action(SHOW_FAILURES_ACTION)(make_show_failures_listener(deps))
    app.action(ENABLE_LOGS_ACTION)(make_enable_logs_listener(deps))
