"""The "Turn on" button of `/iamauth enable-logs`: ack at once, validate, authorise as an admin
again (never trust a button: an offer may be forwarded, or the policy changed since), audit, then
act after the ack. The change is announced in the channel, and its outcome follows in that
message's thread once the cluster is `available` again."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from typing import Any

from slack_bolt import Respond
from slack_sdk.errors import SlackApiError

from bot.adapters.aws.errors import AwsError
from bot.domain.access import Kind
from bot.domain.address import Address, parse_address
from bot.services.log_exports import ExportChange
from bot.views.blocks import Message
from bot.views.log_exports import (
    ENABLE_LOGS_ACTION,
    already_on_message,
    change_refused,
    clicked_reply,
    enable_done,
    enable_not_done,
    enable_requested,
)
from handlers.actions.buttons import accept_click
from handlers.context import Deps
from handlers.jobs import run_job

log = logging.getLogger(__name__)
# The name the clicks are counted under in iamauth_commands_total.
ENABLE_LOGS_BUTTON = "button:enable-logs"


def enable_logs_clicked(deps: Deps, respond: Respond, body: dict[str, Any]) -> None:
    accepted = accept_click(
        deps,
        respond,
        body,
        action_id=ENABLE_LOGS_ACTION,
        command=ENABLE_LOGS_BUTTON,
        kind=Kind.ADMIN,
        parse=lambda value: (address := parse_address(value), str(address)),
    )
    if accepted is None:
        return
    click, address = accepted
    changes: list[ExportChange] = []

    def request() -> Message:
        changes.append(deps.log_exports.enable_iam_log_export(address))
        change = changes[0]
        return (
            clicked_reply(change.cluster.identifier)
            if change.requested
            else already_on_message(change)
        )

    message, outcome = run_job(request, ENABLE_LOGS_BUTTON, refusal=change_refused)
    if not changes:  # AWS said no: the offer stays, the clicker learns why
        click.audit(deps, outcome, message.text)
        respond(**message.to_dict(), response_type="ephemeral", replace_original=False)
        return
    change = changes[0]
    detail = "requested" if change.requested else "already on"
    click.audit(deps, outcome, detail)
    # The offer is spent either way: replacing it keeps it from being clicked twice.
    respond(**message.to_dict(), response_type="ephemeral", replace_original=True)
    if change.requested:
        # Following the change takes minutes: its own thread, not one of the pool that answers
        # commands (the request id's context goes with it).
        threading.Thread(
            target=contextvars.copy_context().run,
            args=(follow_change, deps, respond, click.channel, address, change, click.user),
            name=f"iamauth-follow-{change.cluster.identifier}",
            daemon=True,
        ).start()


def follow_change(
    deps: Deps, respond: Respond, channel: str, address: Address, change: ExportChange, user: str
) -> None:
    """Announce the change in the channel, then reply in its thread once RDS has applied it."""
    thread = _post(deps, respond, channel, enable_requested(change, user))
    started = time.monotonic()
    info, problem = None, ""
    try:
        info = deps.log_exports.wait_for_iam_log_export(address)
    except AwsError as error:
        problem = str(error)
    except Exception:
        log.exception("following the log export change of %s failed", address)
        problem = "an error inside iamauth (the details are logged)"
    cluster = change.cluster.identifier
    if info is not None:
        outcome = enable_done(info)
    else:
        outcome = enable_not_done(cluster, str(address), time.monotonic() - started, problem)
    _post(deps, respond, channel, outcome, thread)


def _post(
    deps: Deps, respond: Respond, channel: str, message: Message, thread_ts: str | None = None
) -> str | None:
    """Post as the bot, so follow-ups can go in a thread; where the bot may not post (it is not
    in the channel), post through the click's response_url instead. Returns the message's ts."""
    if channel:
        try:
            response = deps.slack.chat_postMessage(
                channel=channel, thread_ts=thread_ts, unfurl_links=False, **message.to_dict()
            )
            return str(response.get("ts") or "") or None
        except SlackApiError as error:
            log.warning(
                "chat.postMessage in %s failed (%s); replying through response_url",
                channel,
                error.response.get("error"),
            )
    try:
        respond(**message.to_dict(), response_type="in_channel", replace_original=False)
    except Exception:
        log.exception("posting through response_url failed")
    return None
