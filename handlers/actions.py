"""Buttons of the digest: "Silence 1h" and "Show failures". Acked at once, authorised like the
commands they stand for, audited, answered without replacing the digest."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slack_bolt import Ack, Respond

from bot import request_id
from bot.domain.access import Kind
from bot.domain.identifiers import IdentifierError, validate_cluster_id
from bot.domain.window import DEFAULT_WINDOW, WindowError, parse_duration
from bot.slack.render import error_message, failures_message
from bot.slack.render_digest import SHOW_FAILURES_ACTION, SILENCE_ACTION
from handlers.commands import run_job
from handlers.context import Deps
from handlers.silences import silence_job

log = logging.getLogger(__name__)
# Names the clicks are counted under in iamauth_commands_total.
SILENCE_BUTTON, FAILURES_BUTTON = "button:silence", "button:show-failures"
_USER_ID = re.compile(r"\A[UW][A-Z0-9]{2,20}\Z")


def _clicked(body: dict[str, Any]) -> tuple[str, str, str]:
    """(button value, user id, channel id), ids checked before they are ever shown."""
    action = (body.get("actions") or [{}])[0]
    user = str((body.get("user") or {}).get("id", ""))
    channel = str((body.get("channel") or {}).get("id", ""))
    return str(action.get("value", "")), user if _USER_ID.match(user) else "", channel


def _turned_down(
    deps: Deps,
    respond: Respond,
    who: tuple[str, str, str],
    outcome: str,
    reason: str,
    *,
    command: str = "button",
) -> None:
    """Audit a click that was refused or invalid, and tell only the person who clicked why."""
    user, channel, action = who
    deps.audit(user, channel, action, outcome, reason, command=command)
    respond(**error_message(reason).to_dict(), response_type="ephemeral", replace_original=False)


def make_silence_listener(deps: Deps) -> Callable[..., None]:
    def on_silence(ack: Ack, respond: Respond, body: dict[str, Any]) -> None:
        ack()
        deps.later(lambda: silence_clicked(deps, respond, body))

    return request_id.new_request(on_silence)


def silence_clicked(deps: Deps, respond: Respond, body: dict[str, Any]) -> None:
    value, user, channel = _clicked(body)
    action = f"button {SILENCE_ACTION} {value}"
    who = (user, channel, action)
    try:
        cluster = validate_cluster_id(value)
    except IdentifierError as error:
        _turned_down(deps, respond, who, "invalid", str(error), command=SILENCE_BUTTON)
        return
    decision = deps.decide(Kind.CHANGE, cluster, user, channel)
    if not decision.allowed:
        _turned_down(deps, respond, who, "refused", decision.reason, command=SILENCE_BUTTON)
        return
    job = silence_job(deps, cluster, timedelta(hours=1), "from the digest button", user)
    message, outcome = run_job(job, SILENCE_BUTTON)
    deps.audit(user, channel, action, outcome, command=SILENCE_BUTTON)
    # In the channel, so everyone who saw the digest knows it was silenced (and by whom).
    text = message.text + (f" (by <@{user}>)" if user else "")
    respond(text=text, response_type="in_channel", replace_original=False)


def make_show_failures_listener(deps: Deps) -> Callable[..., None]:
    def on_show_failures(ack: Ack, respond: Respond, body: dict[str, Any]) -> None:
        ack()
        deps.later(lambda: show_failures_clicked(deps, respond, body))

    return request_id.new_request(on_show_failures)


def show_failures_clicked(deps: Deps, respond: Respond, body: dict[str, Any]) -> None:
    value, user, channel = _clicked(body)
    action = f"button {SHOW_FAILURES_ACTION} {value}"
    who = (user, channel, action)
    try:
        data = json.loads(value)
        cluster = validate_cluster_id(str(data.get("cluster", "")))
        duration = parse_duration(str(data.get("window", DEFAULT_WINDOW)), maximum=deps.max_window)
    except (ValueError, AttributeError, IdentifierError, WindowError):
        invalid = "This button's data is not valid."
        _turned_down(deps, respond, who, "invalid", invalid, command=FAILURES_BUTTON)
        return
    decision = deps.decide(Kind.READ, cluster, user, channel)
    if not decision.allowed:
        _turned_down(deps, respond, who, "refused", decision.reason, command=FAILURES_BUTTON)
        return
    message, outcome = run_job(
        lambda: failures_message(deps.service.failures(cluster, duration)), FAILURES_BUTTON
    )
    deps.audit(user, channel, action, outcome, command=FAILURES_BUTTON)
    respond(**message.to_dict(), response_type="ephemeral", replace_original=False)
