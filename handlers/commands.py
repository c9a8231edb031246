"""The `/iamauth` slash command: acknowledge at once, then answer through `respond`.

Input is validated before the ack, so a mistyped command is answered in the ack itself and never
reaches AWS. Work that needs AWS runs after the ack, so Slack's 3-second limit never depends on it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import Ack, Respond

from bot.aws.errors import AwsError
from bot.slack.mrkdwn import code
from bot.slack.render import Message, error_message, help_message
from handlers import failures, metrics, silences, watches
from handlers.args import UsageError
from handlers.context import CommandRequest, Deps, Job

COMMAND = "/iamauth"
PUBLIC_WORD = "public"

Prepare = Callable[[CommandRequest, Deps], Job]
ROUTES: Mapping[str, Prepare] = {
    "failures": failures.prepare,
    "metrics": metrics.prepare,
    "watch": watches.prepare_watch,
    "unwatch": watches.prepare_unwatch,
    "watches": watches.prepare_list,
    "silence": silences.prepare_silence,
    "unsilence": silences.prepare_unsilence,
}

log = logging.getLogger(__name__)


def make_listener(deps: Deps) -> Callable[..., None]:
    def on_iamauth(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        words = str(command.get("text") or "").split()
        public = any(w.lower() == PUBLIC_WORD for w in words)
        words = [w for w in words if w.lower() != PUBLIC_WORD]
        subcommand = words[0].lower() if words else "help"
        if subcommand == "help":
            ack(**help_message().to_dict())
            return
        prepare = ROUTES.get(subcommand)
        if prepare is None:
            note = f"{code(words[0], 30)} is not an iamauth command."
            ack(**help_message(note).to_dict())
            return
        request = CommandRequest(
            words=words[1:],
            user_id=str(command.get("user_id", "")),
            channel_id=str(command.get("channel_id", "")),
        )
        try:
            job = prepare(request, deps)
        except UsageError as error:
            ack(**error_message(str(error)).to_dict())
            return
        ack()
        request_id = uuid.uuid4().hex[:12]
        message = run_job(job, request_id, subcommand)
        response_type = "in_channel" if public else "ephemeral"
        try:
            respond(**message.to_dict(), response_type=response_type)
        except Exception:
            log.exception("request %s: posting the reply to response_url failed", request_id)

    return on_iamauth


def run_job(job: Job, request_id: str, subcommand: str) -> Message:
    """Run a prepared command; errors become a plain sentence for the person who asked."""
    try:
        return job()
    except AwsError as error:
        log.info("request %s (%s): %s", request_id, subcommand, error)
        return error_message(str(error))
    except Exception:
        log.exception("request %s (%s) failed", request_id, subcommand)
        return error_message(
            f"Something went wrong inside iamauth (request `{request_id}`); the details are logged."
        )
