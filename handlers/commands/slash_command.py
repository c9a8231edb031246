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

from bot.adapters.aws.errors import AwsError
from bot.ops import request_id
from bot.views.blocks import Message, error_message, help_message
from bot.views.mrkdwn import code
from handlers.commands import audit, clusters, failures, log_exports, metrics, silences, watches
from handlers.commands.args import UsageError
from handlers.context import AuditTrail, CommandRequest, Deps, Job, NothingChanged, Prepared

COMMAND = "/iamauth"
PUBLIC_WORD = "public"

Prepare = Callable[[CommandRequest, Deps], Prepared]
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

log = logging.getLogger(__name__)


def make_listener(deps: Deps) -> Callable[..., None]:
    def on_iamauth(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        text = str(command.get("text") or "")
        user, channel = str(command.get("user_id", "")), str(command.get("channel_id", ""))
        action = f"{COMMAND} {text}".strip()
        words = text.split()
        public = any(w.lower() == PUBLIC_WORD for w in words)
        words = [w for w in words if w.lower() != PUBLIC_WORD]
        subcommand = words[0].lower() if words else "help"
        prepare = ROUTES.get(subcommand)
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
        try:
            prepared = prepare(CommandRequest(words[1:], user, channel, trail), deps)
        except UsageError as error:
            ack(**error_message(str(error)).to_dict())
            deps.audit(trail, "invalid", str(error))
            return
        ack()

        def finish() -> None:
            decision = deps.decide(
                prepared.kind, prepared.cluster, user, channel, prepared.destination
            )
            if not decision.allowed:
                deps.audit(trail, "refused", decision.reason)
                _respond(respond, error_message(decision.reason), public=False)
                return
            if prepared.reads_aws and (limited := deps.limit(user)):
                deps.audit(trail, "limited", limited)
                _respond(respond, error_message(limited), public=False)
                return
            message, outcome = run_job(prepared.job, subcommand)
            detail = "" if outcome == "allowed" else message.text
            deps.audit(trail, outcome, detail)
            _respond(respond, message, public=public)

        deps.later(finish)

    return request_id.new_request(on_iamauth)


def _respond(respond: Respond, message: Message, *, public: bool) -> None:
    try:
        respond(**message.to_dict(), response_type="in_channel" if public else "ephemeral")
    except Exception:
        log.exception("posting the reply to response_url failed")


def run_job(job: Job, what: str) -> tuple[Message, str]:
    """Run a prepared job; errors become a plain sentence. Returns the reply and the outcome.
    An unexpected error's reply names the request id that is on its log lines."""
    rid = request_id.current() or request_id.new_id()  # a listener not wrapped in new_request
    try:
        return job(), "allowed"
    except (AwsError, NothingChanged) as error:
        log.info("request %s (%s): %s", rid, what, error)
        return error_message(str(error)), "error"
    except Exception:
        log.exception("request %s (%s) failed", rid, what)
        return error_message(
            f"Something went wrong inside iamauth (request `{rid}`); the details are logged."
        ), "error"
