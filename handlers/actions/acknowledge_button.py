"""The digest's "Acknowledge" button: the person who clicks is on the cluster's firing alerts in
that channel. Stored on the alert states (who, when) with its audit entry in one transaction; it
stops repeats until the alert escalates or resolves (bot/domain/alerts.py), and the digest shows
who (edited through the click's response_url). Authorised as a change, like "Silence 1h"."""

from __future__ import annotations

from typing import Any

from slack_bolt import Respond

from bot.domain.access import Kind
from bot.domain.records import Family
from bot.views.acknowledged import acknowledged, nothing_to_acknowledge, with_acknowledgement
from bot.views.blocks import Message
from bot.views.digest import ACKNOWLEDGE_ACTION
from handlers.actions.buttons import accept_click
from handlers.actions.digest_buttons import parse_cluster_button
from handlers.context import Deps
from handlers.jobs import run_job

ACKNOWLEDGE_BUTTON = "button:acknowledge"  # counted under this name in iamauth_commands_total


def acknowledge_clicked(deps: Deps, respond: Respond, body: dict[str, Any]) -> None:
    accepted = accept_click(
        deps,
        respond,
        body,
        action_id=ACKNOWLEDGE_ACTION,
        command=ACKNOWLEDGE_BUTTON,
        kind=Kind.CHANGE,
        parse=parse_cluster_button,
    )
    if accepted is None:
        return
    click, address = accepted
    families: list[Family] = []

    def run() -> Message:
        families.extend(
            deps.commit(
                click.trail,
                lambda audit: deps.watches.acknowledge(address, click.channel, click.user, audit),
            )
        )
        return (
            acknowledged(address, families, click.user)
            if families
            else nothing_to_acknowledge(address)
        )

    message, outcome = run_job(run, ACKNOWLEDGE_BUTTON)
    click.audit(deps, outcome, "" if outcome == "allowed" else message.text)
    # Shown in the digest itself, so everyone who sees it knows who is on it; where the click
    # came without the digest, said in the channel; anything else only to the person who clicked.
    in_channel = outcome == "allowed" and bool(families)
    digest = body.get("message")
    if in_channel and isinstance(digest, dict) and isinstance(digest.get("blocks"), list):
        blocks = with_acknowledgement(
            digest["blocks"], ACKNOWLEDGE_ACTION, str(address), click.user, deps.clock()
        )
        if blocks is not None:
            text = str(digest.get("text") or message.text)
            respond(text=text, blocks=blocks, replace_original=True)
            return
    respond(
        **message.to_dict(),
        response_type="in_channel" if in_channel else "ephemeral",
        replace_original=False,
    )
