"""The Home tab: `app_home_opened` publishes it (handlers/home_tab.py), and its buttons. Show
failures and Silence 1h do what the digest's buttons do, with the same values, authorised and
audited the same way; a Home view has no response_url, so the answer goes to the person's
conversation with the app. "Watch a cluster…" (HOME_WATCH_ACTION) opens the watch modal: its
handler is the modals'."""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import timedelta
from typing import Any, cast

from slack_bolt import App, Respond

from bot.domain.access import Kind
from bot.ops import request_id
from bot.views.failures import failures_message
from bot.views.home import HOME_SHOW_FAILURES_ACTION, HOME_SILENCE_ACTION
from handlers.actions.buttons import accept_click, button_listener
from handlers.actions.digest_buttons import (
    FAILURES_BUTTON,
    SILENCE_BUTTON,
    SILENCE_BUTTON_REASON,
    parse_cluster_button,
    parse_failures_button,
)
from handlers.commands.silences import silence_job
from handlers.context import Deps
from handlers.home_tab import publish_home
from handlers.jobs import run_job

log = logging.getLogger(__name__)
HOME_TAB = "home"


def home_channel(body: dict[str, Any]) -> str:
    """The Home tab's channel, as the view we published carries it in its private_metadata."""
    view = body.get("view")
    try:
        data = json.loads(view.get("private_metadata") or "{}") if isinstance(view, dict) else {}
    except (ValueError, RecursionError):
        return ""
    channel = data.get("channel") if isinstance(data, dict) else None
    return channel if isinstance(channel, str) else ""


class _ToPerson:
    """A Respond for a click in the Home tab: the answer is posted to the person's conversation
    with the app (chat.postMessage to their user id)."""

    def __init__(self, deps: Deps, user: str) -> None:
        self.deps, self.user = deps, user

    def __call__(self, text: str = "", blocks: Any = None, **_: Any) -> None:
        if not self.user:
            return
        try:
            self.deps.slack.chat_postMessage(channel=self.user, text=text, blocks=blocks)
        except Exception:
            log.exception("answering a Home tab click of %s failed", self.user)


def _as_in_channel(deps: Deps, body: dict[str, Any]) -> tuple[dict[str, Any], Respond]:
    """The click as if made in the Home tab's channel, and where to answer it."""
    user = body.get("user")
    user_id = str(user.get("id", "")) if isinstance(user, dict) else ""
    body = {**body, "channel": {"id": home_channel(body)}}
    return body, cast(Respond, _ToPerson(deps, user_id))


def home_silence_clicked(deps: Deps, _respond: Respond, body: dict[str, Any]) -> None:
    body, respond = _as_in_channel(deps, body)
    accepted = accept_click(
        deps, respond, body, action_id=HOME_SILENCE_ACTION, command=SILENCE_BUTTON,
        kind=Kind.CHANGE, parse=parse_cluster_button,
    )  # fmt: skip
    if accepted is None:
        return
    click, address = accepted
    job = silence_job(
        deps, address, timedelta(hours=1), SILENCE_BUTTON_REASON, click.user, click.trail
    )
    message, outcome = run_job(job, SILENCE_BUTTON)
    click.audit(deps, outcome, "" if outcome == "allowed" else message.text)
    respond(**message.to_dict())


def home_show_failures_clicked(deps: Deps, _respond: Respond, body: dict[str, Any]) -> None:
    body, respond = _as_in_channel(deps, body)
    accepted = accept_click(
        deps, respond, body, action_id=HOME_SHOW_FAILURES_ACTION, command=FAILURES_BUTTON,
        kind=Kind.READ, parse=lambda value: parse_failures_button(value, deps.max_window),
        reads_aws=True,
    )  # fmt: skip
    if accepted is None:
        return
    click, (address, duration) = accepted
    message, outcome = run_job(
        lambda: failures_message(deps.queries.failures(address, duration)), FAILURES_BUTTON
    )
    click.audit(deps, outcome, "" if outcome == "allowed" else message.text)
    respond(**message.to_dict())


def register_home(app: App, deps: Deps) -> None:
    """The Home tab's listeners (registered by handlers.register when the Home tab is on)."""
    home = deps.home
    if home is None:
        return

    def on_home_opened(event: dict[str, Any]) -> None:
        # Events are acked by Bolt; the work goes to the job pool at once.
        if event.get("tab") != HOME_TAB:
            return
        user, channel = str(event.get("user", "")), str(event.get("channel", ""))
        if not user:
            return
        home.remember(user, channel)
        deps.jobs.submit(
            contextvars.copy_context().run, publish_home, home, deps.slack, user, channel
        )

    app.event("app_home_opened")(request_id.new_request(on_home_opened))
    app.action(HOME_SILENCE_ACTION)(button_listener(deps, home_silence_clicked))
    app.action(HOME_SHOW_FAILURES_ACTION)(button_listener(deps, home_show_failures_clicked))
