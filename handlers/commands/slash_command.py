"""The `/iamauth` slash command: validate, acknowledge at once, authorise, then answer.

Input is validated before the ack, so a mistyped command is answered in the ack itself and never
reaches AWS. Authorisation and the work run after the ack, so Slack's 3-second limit never depends
on AWS or on looking up user groups. Every command is written to the audit log with its outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import Ack, Respond

from bot.ops import request_id
from bot.views.blocks import Message, error_message
from bot.views.help import help_message
from bot.views.mrkdwn import code
from handlers.commands.args import UsageError
from handlers.context import AuditTrail, CommandRequest, Deps, Prepared
from handlers.jobs import run_job

COMMAND = "/iamauth"
PUBLIC_WORD = "public"

# Reads a subcommand's words into the work to do after the ack (UsageError: typed wrong).
Prepare = Callable[[CommandRequest, Deps], Prepared]
# Opens the modal of a subcommand typed alone: (deps, trigger_id, who asked where).
OpenModal = Callable[[Deps, str, AuditTrail], None]

log = logging.getLogger(__name__)


def make_listener(
    deps: Deps, routes: Mapping[str, Prepare], modals: Mapping[str, OpenModal] | None = None
) -> Callable[..., None]:
    """The listener of `/iamauth`; `routes`: each subcommand's Prepare (handlers/__init__.py);
    `modals`: the subcommands that, typed alone, open a modal (handlers/modals.py)."""
    modals = modals or {}

    def on_iamauth(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        text = str(command.get("text") or "")
        user, channel = str(command.get("user_id", "")), str(command.get("channel_id", ""))
        action = f"{COMMAND} {text}".strip()
        words = text.split()
        public = any(w.lower() == PUBLIC_WORD for w in words)
        words = [w for w in words if w.lower() != PUBLIC_WORD]
        subcommand = words[0].lower() if words else "help"
        prepare = routes.get(subcommand)
        counted = subcommand if subcommand == "help" or prepare else "unknown"
        trail = AuditTrail(user, channel, action, counted)
        if subcommand == "help":
            ack(**help_message(open_access=not deps.policy.enforced).to_dict())
            deps.audit(trail, "allowed")
            return
        if prepare is None:
            note = f"{code(words[0], 30)} is not an iamauth command."
            ack(**help_message(note, open_access=not deps.policy.enforced).to_dict())
            deps.audit(trail, "invalid", "unknown subcommand")
            return
        if len(words) == 1 and (open_modal := modals.get(subcommand)):
            ack()  # then views.open at once: its trigger_id lasts 3 s
            open_modal(deps, str(command.get("trigger_id") or ""), trail)
            return
        try:
            prepared = prepare(CommandRequest(words[1:], user, channel, trail), deps)
        except UsageError as error:
            ack(**error_message(str(error)).to_dict())
            deps.audit(trail, "invalid", str(error))
            return
        ack()

        def finish() -> None:
            message, ran = settle(deps, prepared, trail, subcommand)
            _respond(respond, message, public=public and ran)

        deps.later(finish)

    return request_id.new_request(on_iamauth)


def settle(deps: Deps, prepared: Prepared, trail: AuditTrail, what: str) -> tuple[Message, bool]:
    """After the ack: authorise `trail`'s user, spend their budget if the work reads AWS, run
    it and audit the outcome. The reply, and whether the work ran (a refusal is only for the
    person who asked). Shared by the commands and the modals that stand for them."""
    decision = deps.decide(
        prepared.kind, prepared.cluster, trail.user, trail.channel, prepared.destination
    )
    if not decision.allowed:
        deps.audit(trail, "refused", decision.reason)
        return error_message(decision.reason), False
    if prepared.reads_aws and (limited := deps.limit(trail.user)):
        deps.audit(trail, "limited", limited)
        return error_message(limited), False
    message, outcome = run_job(prepared.job, what)
    deps.audit(trail, outcome, "" if outcome == "allowed" else message.text)
    return message, True


def _respond(respond: Respond, message: Message, *, public: bool) -> None:
    try:
        respond(**message.to_dict(), response_type="in_channel" if public else "ephemeral")
    except Exception:
        log.exception("posting the reply to response_url failed")
