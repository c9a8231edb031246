"""Buttons of the digest: "Silence 1h" and "Show failures". Acked at once, authorised like the
commands they stand for, audited, answered without replacing the digest."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from slack_bolt import Respond

from bot.domain.access import Kind
from bot.domain.identifiers import validate_cluster_id
from bot.domain.window import DEFAULT_WINDOW, parse_duration
from bot.slack.render import failures_message
from bot.slack.render_digest import SHOW_FAILURES_ACTION, SILENCE_ACTION
from handlers.buttons import accept_click
from handlers.commands import run_job
from handlers.context import Deps
from handlers.silences import silence_job

# Names the clicks are counted under in iamauth_commands_total.
SILENCE_BUTTON, FAILURES_BUTTON = "button:silence", "button:show-failures"


def silence_clicked(deps: Deps, respond: Respond, body: dict[str, Any]) -> None:
    accepted = accept_click(
        deps,
        respond,
        body,
        action_id=SILENCE_ACTION,
        command=SILENCE_BUTTON,
        kind=Kind.CHANGE,
        parse=lambda value: (cluster := validate_cluster_id(value), cluster),
    )
    if accepted is None:
        return
    click, cluster = accepted
    user = click.user
    job = silence_job(deps, cluster, timedelta(hours=1), "from the digest button", user)
    message, outcome = run_job(job, SILENCE_BUTTON)
    click.audit(deps, outcome)
    # In the channel, so everyone who saw the digest knows it was silenced (and by whom).
    text = message.text + (f" (by <@{user}>)" if user else "")
    respond(text=text, response_type="in_channel", replace_original=False)


def _failures_button(value: str, max_window: timedelta) -> tuple[tuple[str, timedelta], str]:
    """`{"cluster": …, "window": …}` → ((cluster, duration), cluster)."""
    try:
        data = json.loads(value)
        cluster = validate_cluster_id(str(data.get("cluster", "")))
        duration = parse_duration(str(data.get("window", DEFAULT_WINDOW)), maximum=max_window)
    except (ValueError, AttributeError):  # bad JSON, identifier or window: all ValueErrors
        raise ValueError("This button's data is not valid.") from None
    return (cluster, duration), cluster


def show_failures_clicked(deps: Deps, respond: Respond, body: dict[str, Any]) -> None:
    accepted = accept_click(
        deps,
        respond,
        body,
        action_id=SHOW_FAILURES_ACTION,
        command=FAILURES_BUTTON,
        kind=Kind.READ,
        parse=lambda value: _failures_button(value, deps.max_window),
    )
    if accepted is None:
        return
    click, (cluster, duration) = accepted
    message, outcome = run_job(
        lambda: failures_message(deps.service.failures(cluster, duration)), FAILURES_BUTTON
    )
    click.audit(deps, outcome)
    respond(**message.to_dict(), response_type="ephemeral", replace_original=False)
