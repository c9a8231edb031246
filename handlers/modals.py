"""The modals of `/iamauth watch` and `/iamauth silence` typed alone, and of the Home tab's
"Watch a cluster…" button: opened with the request's trigger_id right after the ack (a trigger
lasts 3 s); their cluster menu (an external select, answered here from the cached inventory with
the clusters that may be read where the modal was opened); and their submissions.

A submission is read with the domain's own checks (make_watch, parse_duration, parse_address), so
a value the text command would refuse is refused here too, next to its field
(`response_action: errors`). A valid one closes the modal and is then authorised, run and audited
by the very code of the command it stands for (slash_command.settle, watch_job, silence_job); the
answer reaches the person as an ephemeral message where the modal was opened, or a DM."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError

from bot.domain.access import Kind
from bot.domain.address import Address, parse_address
from bot.domain.alerts import Threshold
from bot.domain.identifiers import IdentifierError
from bot.domain.watches import (
    CHANNEL_ID,
    FAMILY_KEYS,
    MAX_THRESHOLD_WINDOW,
    WatchError,
    make_threshold,
    make_watch,
)
from bot.domain.window import WindowError, parse_duration
from bot.ops import request_id
from bot.services.watches import MAX_SILENCE
from bot.views import modals
from bot.views.blocks import Message
from handlers.commands.silences import silence_job
from handlers.commands.slash_command import settle
from handlers.commands.watches import watch_job
from handlers.context import AuditTrail, Deps, Prepared

log = logging.getLogger(__name__)
# Opens a modal: (deps, trigger_id, who asked where) — for `/iamauth <subcommand>` typed alone.
OpenModal = Callable[[Deps, str, AuditTrail], None]
HOME_WATCH_BUTTON = "button:home-watch"
USER_ID = re.compile(r"\A[UW][A-Z0-9]{2,20}\Z")


def _get(container: object, *keys: str) -> object:
    """`container[k1][k2]…` of a payload whose shape is not trusted; None where there is none."""
    for key in keys:
        if not isinstance(container, dict):
            return None
        container = container.get(key)
    return container


def _text(container: object, *keys: str) -> str:
    value = _get(container, *keys)
    return value.strip() if isinstance(value, str) else ""


def _open(deps: Deps, trigger_id: str, trail: AuditTrail, view: dict[str, Any]) -> None:
    """views.open at once (the trigger expires 3 s after the request), then warm the cluster
    menu's inventory while the person looks at the form."""
    try:
        deps.slack.views_open(trigger_id=trigger_id, view=view)
    except Exception as error:  # an expired trigger, Slack unreachable: nothing was opened
        log.warning("views.open failed: %s", error)
        deps.audit(trail, "error", f"the modal could not be opened: {error}")
        return
    deps.audit(trail, "allowed", "opened the modal")

    def warm() -> None:
        deps.clusters.choices()  # fills the Targets inventory cache the menu reads

    deps.later(warm)


def open_watch_modal(deps: Deps, trigger_id: str, trail: AuditTrail) -> None:
    _open(deps, trigger_id, trail, modals.watch_modal(trail.channel))


def open_silence_modal(deps: Deps, trigger_id: str, trail: AuditTrail) -> None:
    _open(deps, trigger_id, trail, modals.silence_modal(trail.channel))


# `/iamauth <subcommand>` typed alone opens its modal (handlers/commands/slash_command.py).
OPENERS: Mapping[str, OpenModal] = {"watch": open_watch_modal, "silence": open_silence_modal}


def _origin(view: object) -> str:
    """The channel the modal was opened in, from its private_metadata (which only this app sets;
    Slack keeps it), or "" (the Home tab)."""
    try:
        metadata = json.loads(_text(view, "private_metadata") or "{}")
    except ValueError:
        return ""
    channel = _get(metadata, "channel")
    return channel if isinstance(channel, str) and CHANNEL_ID.match(channel) else ""


def _value(values: object, block: str, action: str | None = None) -> object:
    """The state of one field: its `value`, `selected_option.value`, `selected_conversation` or
    the values of its `selected_options`, by the element's kind."""
    state = _get(values, block, action or block)
    if not isinstance(state, dict):
        return None
    if "selected_options" in state:
        options = state["selected_options"] or []
        return [_text(o, "value") for o in options] if isinstance(options, list) else []
    if "selected_option" in state:
        return _text(state, "selected_option", "value")
    if "selected_conversation" in state:
        return _text(state, "selected_conversation")
    return _text(state, "value")


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def options_listener(deps: Deps) -> Callable[..., None]:
    """The cluster menu: the databases (across targets) that may be read in the channel the modal
    was opened in, whose name holds what was typed; from the cached inventory."""

    def on_options(ack: Ack, body: dict[str, Any]) -> None:
        typed = _text(body, "value").lower()
        origin = _origin(body.get("view"))
        try:
            choices = deps.clusters.choices()
        except Exception:
            log.exception("the cluster menu could not be read")
            choices = []
        shown = [
            c
            for c in choices
            if typed in str(c.address).lower() and deps.policy.may_read(c.address, origin)
        ]
        several = len({c.place for c in choices}) > 1
        ack(options=modals.cluster_options(shown, show_place=several))

    return request_id.new_request(on_options)


def _errors(ack: Ack, deps: Deps, trail: AuditTrail, errors: dict[str, str]) -> None:
    """Refuse a submission next to its fields; audited as an invalid command is."""
    ack(response_action="errors", errors=errors)
    deps.audit(trail, "invalid", "; ".join(f"{k}: {v}" for k, v in errors.items()))


def _finish(deps: Deps, trail: AuditTrail, prepared: Prepared, what: str) -> None:
    """After the modal closed: authorise, run and audit as the command does; tell the person."""

    def run() -> None:
        message, _ = settle(deps, prepared, trail, what)
        _tell(deps, trail, message)

    deps.later(run)


def _tell(deps: Deps, trail: AuditTrail, message: Message) -> None:
    """Ephemeral where the modal was opened; a DM where that fails or there is no channel (the
    Home tab)."""
    if trail.channel:
        try:
            deps.slack.chat_postEphemeral(
                channel=trail.channel, user=trail.user, **message.to_dict()
            )
            return
        except SlackApiError as error:
            log.info(
                "ephemeral answer refused (%s); sending it as a DM", error.response.get("error")
            )
    deps.slack.chat_postMessage(channel=trail.user, **message.to_dict())


def _submitter(body: dict[str, Any], view: object, action: str, command: str) -> AuditTrail:
    """Who submitted, where the modal was opened: audited and counted as `command`."""
    user = _text(body, "user", "id")
    return AuditTrail(user if USER_ID.match(user) else "", _origin(view), action, command)


def _thresholds(values: object) -> tuple[list[Threshold], list[str], dict[str, str]]:
    """Each family's count and window, checked as the text command checks `family>=count/window`;
    a family left empty is not watched. The thresholds, as typed (for the audit), and the errors
    by block."""
    thresholds: list[Threshold] = []
    typed: list[str] = []
    errors: dict[str, str] = {}
    for key in FAMILY_KEYS:
        count_text = _str(_value(values, modals.count_block(key)))
        window = _str(_value(values, modals.window_block(key)))
        if not count_text and not window:
            continue
        if not window:
            errors[modals.window_block(key)] = "Give the window too, like 5m."
            continue
        try:  # the window first, so its error shows next to it
            parse_duration(window, maximum=MAX_THRESHOLD_WINDOW)
        except WindowError as error:
            errors[modals.window_block(key)] = str(error)
            continue
        # A count that is not a small whole number goes to make_threshold as typed: it says why.
        whole = count_text.isascii() and count_text.isdigit() and len(count_text) <= 9
        count: object = int(count_text) if whole else count_text
        try:
            thresholds.append(make_threshold(key, count, window))
        except WatchError as error:
            errors[modals.count_block(key)] = str(error)
        else:
            typed.append(f"{key}>={count}/{window}")
    return thresholds, typed, errors


def _address(cluster: str, errors: dict[str, str]) -> Address | None:
    """The chosen cluster, checked as a typed one is; None (and its error) if it is not one."""
    if not cluster:
        errors[modals.CLUSTER_BLOCK] = "Choose a cluster."
        return None
    try:
        return parse_address(cluster)
    except IdentifierError as error:
        errors[modals.CLUSTER_BLOCK] = str(error)
        return None


def watch_submitted(deps: Deps) -> Callable[..., None]:
    def on_submit(ack: Ack, body: dict[str, Any]) -> None:
        view = body.get("view")
        values = _get(view, "state", "values")
        cluster = _str(_value(values, modals.CLUSTER_BLOCK, modals.CLUSTER_ACTION))
        channel = _str(_value(values, modals.CHANNEL_BLOCK))
        repeat = _str(_value(values, modals.REPEAT_BLOCK))
        resolved = _value(values, modals.RESOLVED_BLOCK)
        send_resolved = isinstance(resolved, list) and modals.RESOLVED_YES in resolved
        thresholds, typed, errors = _thresholds(values)
        action = " ".join(
            [f"modal watch {cluster or '?'} <#{channel}>", *typed, f"repeat={repeat}",
             f"resolved={'yes' if send_resolved else 'no'}"]
        )  # fmt: skip
        trail = _submitter(body, view, action, "modal:watch")
        address = _address(cluster, errors)
        if errors or address is None:
            _errors(ack, deps, trail, errors)
            return
        try:
            watch = make_watch(
                address,
                channel,
                thresholds,
                repeat=repeat,
                send_resolved=send_resolved,
                created_by=trail.user,
            )
        except WatchError as error:  # no threshold at all (shown by the first), channel, repeat
            fields = {"channel": modals.CHANNEL_BLOCK, "repeat": modals.REPEAT_BLOCK}
            block = fields.get(error.field or "", modals.count_block(next(iter(FAMILY_KEYS))))
            _errors(ack, deps, trail, {block: str(error)})
            return
        ack()
        prepared = Prepared(watch_job(deps, watch, trail), Kind.CHANGE, str(address), channel)
        _finish(deps, trail, prepared, "watch")

    return request_id.new_request(on_submit)


def silence_submitted(deps: Deps) -> Callable[..., None]:
    def on_submit(ack: Ack, body: dict[str, Any]) -> None:
        view = body.get("view")
        values = _get(view, "state", "values")
        cluster = _str(_value(values, modals.CLUSTER_BLOCK, modals.CLUSTER_ACTION))
        duration_text = _str(_value(values, modals.DURATION_BLOCK))
        reason = _str(_value(values, modals.REASON_BLOCK))[: modals.MAX_REASON]
        action = f"modal silence {cluster or '?'} {duration_text} {reason}".strip()
        trail = _submitter(body, view, action, "modal:silence")
        errors: dict[str, str] = {}
        address = _address(cluster, errors)
        duration = None
        try:
            duration = parse_duration(duration_text, maximum=MAX_SILENCE)
        except WindowError as error:
            errors[modals.DURATION_BLOCK] = str(error)
        if errors or address is None or duration is None:
            _errors(ack, deps, trail, errors)
            return
        ack()
        job = silence_job(deps, address, duration, reason, trail.user, trail)
        _finish(deps, trail, Prepared(job, Kind.CHANGE, str(address)), "silence")

    return request_id.new_request(on_submit)


def home_watch_clicked(deps: Deps) -> Callable[..., None]:
    """The Home tab's "Watch a cluster…": the watch modal, with no channel (its menu follows the
    read rule of no channel; the person picks the destination)."""

    def on_click(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user = _text(body, "user", "id")
        user = user if USER_ID.match(user) else ""
        trail = AuditTrail(user, "", f"button {modals.HOME_WATCH_ACTION}", HOME_WATCH_BUTTON)
        open_watch_modal(deps, _text(body, "trigger_id"), trail)

    return request_id.new_request(on_click)


def register(app: App, deps: Deps) -> None:
    app.options(modals.CLUSTER_ACTION)(options_listener(deps))
    app.view(modals.WATCH_MODAL)(watch_submitted(deps))
    app.view(modals.SILENCE_MODAL)(silence_submitted(deps))
    app.action(modals.HOME_WATCH_ACTION)(home_watch_clicked(deps))
