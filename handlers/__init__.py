"""Slack listeners. `register(app, deps)` is the one place that lists every `/iamauth` subcommand
and every button; each lives in handlers/commands/ or handlers/actions/."""

from __future__ import annotations

from collections.abc import Mapping

from slack_bolt import App

from bot.views.digest import ACKNOWLEDGE_ACTION, SHOW_FAILURES_ACTION, SILENCE_ACTION
from bot.views.log_exports import ENABLE_LOGS_ACTION
from handlers.actions import acknowledge_button, digest_buttons, enable_logs_button
from handlers.actions.buttons import button_listener
from handlers.commands import audit, clusters, failures, log_exports, metrics, silences, watches
from handlers.commands.slash_command import COMMAND, Prepare, make_listener
from handlers.context import Deps
from handlers.home import register_home
from handlers.modals import OPENERS
from handlers.modals import register as register_modals

__all__ = ["ROUTES", "Deps", "register"]

ROUTES: Mapping[str, Prepare] = {
    "failures": failures.prepare,
    "metrics": metrics.prepare,
    "watch": watches.prepare_watch,
    "unwatch": watches.prepare_unwatch,
    "watches": watches.prepare_list,
    "silence": silences.prepare_silence,
    "unsilence": silences.prepare_unsilence,
    "audit": audit.prepare,
    "clusters": clusters.prepare,
    "logs": log_exports.prepare_logs,
    "enable-logs": log_exports.prepare_enable_logs,
}


def register(app: App, deps: Deps) -> None:
    app.command(COMMAND)(make_listener(deps, ROUTES, OPENERS))
    app.action(SILENCE_ACTION)(button_listener(deps, digest_buttons.silence_clicked))
    app.action(SHOW_FAILURES_ACTION)(button_listener(deps, digest_buttons.show_failures_clicked))
    app.action(ACKNOWLEDGE_ACTION)(button_listener(deps, acknowledge_button.acknowledge_clicked))
    app.action(ENABLE_LOGS_ACTION)(button_listener(deps, enable_logs_button.enable_logs_clicked))
    register_home(app, deps)
    register_modals(app, deps)
