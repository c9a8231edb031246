"""Buttons of the digest: "Silence 1h" and "Show failures". Acked at once, authorised like the
commands they stand for, audited, answered without replacing the digest. Their values name the
cluster as its watch does: `prod-db` or `account/region/prod-db` (bot/domain/address.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from slack_bolt import Respond

from bot.domain.access import Kind
from bot.domain.address import Address, parse_address
from bot.domain.window import DEFAULT_WINDOW, parse_duration
from bot.views.digest import SHOW_FAILURES_ACTION, SILENCE_ACTION
from bot.views.failures import failures_message
from handlers.actions.buttons import accept_click
from handlers.commands.silences import silence_job
from handlers.context import Deps
from handlers.jobs import run_job

# Names the clicks are counted under in iamauth_commands_total.
SILENCE_BUTTON, FAILURES_BUTTON = "button:silence", "button:show-failures"
SILENCE_BUTTON_REASON = "from the digest button"


def parse_cluster_button(value: str) -> tuple[Address, str]:
    """A button naming a cluster (Silence 1h, Acknowledge): its address and canonical text."""
    address = parse_address(value)  # IdentifierError (a ValueError) says why not
    return address, str(address)


def silence_clicked(deps: Deps, respond: Respond, body: dict[str, Any]) -> None:
    accepted = accept_click(
        deps,
        respond,
        body,
        action_id=SILENCE_ACTION,
        command=SILENCE_BUTTON,
        kind=Kind.CHANGE,
        parse=parse_cluster_button,
    )
    if accepted is None:
        return
    click, address = accepted
    user = click.user
    job = silence_job(deps, address, timedelta(hours=1), SILENCE_BUTTON_REASON, user, click.trail)
    message, outcome = run_job(job, SILENCE_BUTTON)
    click.audit(deps, outcome, "" if outcome == "allowed" else message.text)
    # In the channel, so everyone who saw the digest knows it was silenced (and by whom); a
    # failure only to the person who clicked.
    if outcome != "allowed":
        respond(**message.to_dict(), response_type="ephemeral", replace_original=False)
        return
    text = message.text + (f" (by <@{user}>)" if user else "")
    respond(text=text, response_type="in_channel", replace_original=False)


def parse_failures_button(
    value: str, max_window: timedelta
) -> tuple[tuple[Address, timedelta], str]:
    """`{"cluster": …, "window": …}` → ((address, duration), address text)."""
    try:
        data = json.loads(value)
        address = parse_address(str(data.get("cluster", "")))
        duration = parse_duration(str(data.get("window", DEFAULT_WINDOW)), maximum=max_window)
    # Bad JSON, address or window are ValueErrors; JSON that is not an object has no .get; JSON
    # nested thousands deep exhausts the parser's recursion.
    except (ValueError, AttributeError, RecursionError):
        raise ValueError("This button's data is not valid.") from None
    return (address, duration), str(address)


def show_failures_clicked(deps: Deps, respond: Respond, body: dict[str, Any]) -> None:
    accepted = accept_click(
        deps,
        respond,
        body,
        action_id=SHOW_FAILURES_ACTION,
        command=FAILURES_BUTTON,
        kind=Kind.READ,
        parse=lambda value: parse_failures_button(value, deps.max_window),
        reads_aws=True,
    )
    if accepted is None:
        return
    click, (address, duration) = accepted
    message, outcome = run_job(
        lambda: failures_message(deps.queries.failures(address, duration)), FAILURES_BUTTON
    )
    click.audit(deps, outcome, "" if outcome == "allowed" else message.text)
    respond(**message.to_dict(), response_type="ephemeral", replace_original=False)
