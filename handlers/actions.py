"""Buttons of the digest: "Silence 1h" and "Show failures". Acked at once, authorised like the
commands they stand for, audited, answered without replacing the digest."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from slack_bolt import Respond

from bot.domain.access import Kind
from bot.domain.identifiers import IdentifierError, validate_cluster_id
from bot.domain.window import DEFAULT_WINDOW, WindowError, parse_duration
from bot.slack.render import failures_message
from bot.slack.render_digest import SHOW_FAILURES_ACTION, SILENCE_ACTION
from handlers.buttons import clicked, turned_down
from handlers.commands import run_job
from handlers.context import Deps
from handlers.silences import silence_job

# Names the clicks are counted under in iamauth_commands_total.
SILENCE_BUTTON, FAILURES_BUTTON = "button:silence", "button:show-failures"


def silence_clicked(deps: Deps, respond: Respond, body: dict[str, Any]) -> None:
    value, user, channel = clicked(body)
    action = f"button {SILENCE_ACTION} {value}"
    who = (user, channel, action)
    try:
        cluster = validate_cluster_id(value)
    except IdentifierError as error:
        turned_down(deps, respond, who, "invalid", str(error), command=SILENCE_BUTTON)
        return
    decision = deps.decide(Kind.CHANGE, cluster, user, channel)
    if not decision.allowed:
        turned_down(deps, respond, who, "refused", decision.reason, command=SILENCE_BUTTON)
        return
    job = silence_job(deps, cluster, timedelta(hours=1), "from the digest button", user)
    message, outcome = run_job(job, SILENCE_BUTTON)
    deps.audit(user, channel, action, outcome, command=SILENCE_BUTTON)
    # In the channel, so everyone who saw the digest knows it was silenced (and by whom).
    text = message.text + (f" (by <@{user}>)" if user else "")
    respond(text=text, response_type="in_channel", replace_original=False)


def show_failures_clicked(deps: Deps, respond: Respond, body: dict[str, Any]) -> None:
    value, user, channel = clicked(body)
    action = f"button {SHOW_FAILURES_ACTION} {value}"
    who = (user, channel, action)
    try:
        data = json.loads(value)
        cluster = validate_cluster_id(str(data.get("cluster", "")))
        duration = parse_duration(str(data.get("window", DEFAULT_WINDOW)), maximum=deps.max_window)
    except (ValueError, AttributeError, IdentifierError, WindowError):
        invalid = "This button's data is not valid."
        turned_down(deps, respond, who, "invalid", invalid, command=FAILURES_BUTTON)
        return
    decision = deps.decide(Kind.READ, cluster, user, channel)
    if not decision.allowed:
        turned_down(deps, respond, who, "refused", decision.reason, command=FAILURES_BUTTON)
        return
    message, outcome = run_job(
        lambda: failures_message(deps.service.failures(cluster, duration)), FAILURES_BUTTON
    )
    deps.audit(user, channel, action, outcome, command=FAILURES_BUTTON)
    respond(**message.to_dict(), response_type="ephemeral", replace_original=False)
