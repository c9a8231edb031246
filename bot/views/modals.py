"""The modals of `/iamauth watch` and `/iamauth silence` typed alone (and of the Home tab's
"Watch a cluster…" button), and the cluster menu they share: Block Kit JSON. Block ids double as
the keys of `response_action: errors`, so each error shows next to its field. Text here is
plain_text (Slack shows it as typed, never as mrkdwn), cut to Slack's limits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.domain.alerts import DEFAULT_REPEAT
from bot.domain.watches import DEFAULT_THRESHOLDS, FAMILY_KEYS, KEY_OF_FAMILY, MAX_COUNT
from bot.domain.window import format_duration
from bot.services.clusters import ClusterChoice
from bot.views.mrkdwn import shorten

WATCH_MODAL = "iamauth_watch_modal"  # callback ids
SILENCE_MODAL = "iamauth_silence_modal"
HOME_WATCH_ACTION = "home_watch_open"  # the Home tab's "Watch a cluster…" button
CLUSTER_ACTION = "iamauth_cluster"  # the external select, answered by the options listener
CLUSTER_BLOCK, CHANNEL_BLOCK, REPEAT_BLOCK, RESOLVED_BLOCK = (
    "cluster",
    "channel",
    "repeat",
    "resolved",
)
DURATION_BLOCK, REASON_BLOCK = "duration", "reason"
RESOLVED_YES = "yes"
DEFAULT_SILENCE = "1h"
MAX_OPTIONS = 100  # Slack's limit of an external select's answer
MAX_REASON = 500
FAMILY_TITLES = {
    "invalid_token": "InvalidToken",
    "insufficient_permissions": "InsufficientPermissions",
    "throttling": "Throttling",
    "server_error": "ServerError",
}


def count_block(key: str) -> str:
    return f"{key}_count"


def window_block(key: str) -> str:
    return f"{key}_window"


def _text(text: str, limit: int = 150) -> dict[str, Any]:
    return {"type": "plain_text", "text": shorten(text, limit)}


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str = ""
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": _text(label, 2000),
        "element": {"action_id": block_id, **element},
        "optional": optional,
    }
    if hint:
        block["hint"] = _text(hint, 2000)
    return block


def _plain_input(initial: str = "", placeholder: str = "", max_length: int = 20) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "max_length": max_length}
    if initial:
        element["initial_value"] = initial
    if placeholder:
        element["placeholder"] = _text(placeholder)
    return element


def _cluster_block() -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": CLUSTER_BLOCK,
        "label": _text("Cluster"),
        "element": {
            "type": "external_select",
            "action_id": CLUSTER_ACTION,
            "placeholder": _text("Type part of its name"),
            "min_query_length": 0,
        },
    }


def _modal(
    callback_id: str, title: str, submit: str, origin: str, blocks: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": _text(title, 24),
        "submit": _text(submit, 24),
        "close": _text("Cancel", 24),
        # Where the modal was opened: the channel whose read rule the cluster menu follows.
        "private_metadata": json.dumps({"channel": origin}),
        "blocks": blocks,
    }


def watch_modal(origin: str) -> dict[str, Any]:
    """`origin`: the channel it was opened in ("" from the Home tab), the default destination."""
    channel: dict[str, Any] = {
        "type": "conversations_select",
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    if origin:
        channel["initial_conversation"] = origin
    else:
        channel["default_to_current_conversation"] = True
    defaults = {KEY_OF_FAMILY[t.family]: t for t in DEFAULT_THRESHOLDS}
    families: list[dict[str, Any]] = []
    for key in FAMILY_KEYS:
        default = defaults.get(key)
        title = FAMILY_TITLES.get(key, key)
        count: dict[str, Any] = {
            "type": "number_input",
            "is_decimal_allowed": False,
            "min_value": "1",
            "max_value": str(MAX_COUNT),
        }
        if default:
            count["initial_value"] = str(default.count)
        families += [
            _input(count_block(key), f"{title}: alert at this many failures", count, optional=True,
                   hint="Leave empty not to watch this family."),
            _input(window_block(key), f"{title}: within", _plain_input(
                format_duration(default.window) if default else "", "5m, 1h (at most 24h)"),
                optional=True),
        ]  # fmt: skip
    blocks = [
        _cluster_block(),
        _input(CHANNEL_BLOCK, "Send its alerts to", channel),
        *families,
        _input(REPEAT_BLOCK, "Post a firing alert again every", _plain_input(
            format_duration(DEFAULT_REPEAT), "4h (1m to 7d)")),
        _input(RESOLVED_BLOCK, "When it is over", {
            "type": "checkboxes",
            "options": [{"text": _text("Send a resolved notice"), "value": RESOLVED_YES}],
            "initial_options": [{"text": _text("Send a resolved notice"), "value": RESOLVED_YES}],
        }, optional=True),
    ]  # fmt: skip
    return _modal(WATCH_MODAL, "Watch a cluster", "Watch", origin, blocks)


def silence_modal(origin: str) -> dict[str, Any]:
    blocks = [
        _cluster_block(),
        _input(DURATION_BLOCK, "For", _plain_input(DEFAULT_SILENCE, "1h, 2d (at most 30d)")),
        _input(REASON_BLOCK, "Why", _plain_input(placeholder="deploy", max_length=MAX_REASON),
               optional=True),
    ]  # fmt: skip
    return _modal(SILENCE_MODAL, "Silence a cluster", "Silence", origin, blocks)


def cluster_options(choices: Sequence[ClusterChoice], *, show_place: bool) -> list[dict[str, Any]]:
    """The external select's options: value the address text a command would take."""
    options = []
    for choice in choices[:MAX_OPTIONS]:
        name = str(choice.address)
        label = f"{name} · {choice.place}" if show_place and not choice.address.account else name
        options.append({"text": _text(label, 75), "value": name})
    return options
