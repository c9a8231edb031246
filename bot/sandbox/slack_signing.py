"""Signed slash-command requests, as Slack sends them (used by the demo and the tests)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier


def slash_command_body(
    text: str,
    response_url: str,
    *,
    command: str = "/iamauth",
    user_id: str = "U0DEMO0001",
    user_name: str = "demo",
    channel_id: str = "C0DEMO0001",
    team_id: str = "T0TEAM0001",
) -> bytes:
    return urlencode(
        {
            "token": "unused-verification-token",
            "team_id": team_id,
            "channel_id": channel_id,
            "channel_name": "ops",
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "response_url": response_url,
            "trigger_id": "1.2.3",
            "api_app_id": "A0IAMAUTH1",
        }
    ).encode()


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body) or ""
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


def block_actions_body(
    action_id: str,
    value: str,
    response_url: str,
    *,
    user_id: str = "U0DEMO0001",
    channel_id: str = "C0DEMO0001",
    team_id: str = "T0TEAM0001",
    message: Mapping[str, Any] | None = None,
) -> bytes:
    """A button click, as Slack posts it: form-encoded `payload` holding JSON; with `message`,
    the message the button is in (its text and blocks), as Slack sends it with the click."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": team_id},
        "user": {"id": user_id},
        "api_app_id": "A0IAMAUTH1",
        "channel": {"id": channel_id},
        "container": {"type": "message", "channel_id": channel_id, "message_ts": "1.000001"},
        "trigger_id": "1.2.3",
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b1",
                "value": value,
                "action_ts": "1.2",
            }
        ],
    }
    if message is not None:
        payload["message"] = {"text": message.get("text", ""), "blocks": message.get("blocks", [])}
    return urlencode({"payload": json.dumps(payload)}).encode()


def app_home_opened_body(user: str, channel: str, tab: str = "home") -> bytes:
    """An Events API callback for `app_home_opened`, as Slack posts it (JSON; sign it with
    signed_headers and send it with `Content-Type: application/json`)."""
    event = {"type": "app_home_opened", "user": user, "channel": channel, "tab": tab}
    return json.dumps(
        {
            "token": "unused-verification-token",
            "team_id": "T0TEAM0001",
            "api_app_id": "A0IAMAUTH1",
            "type": "event_callback",
            "event_id": "Ev0HOME0001",
            "event_time": 1_700_000_000,
            "event": {**event, "event_ts": "1700000000.000100"},
        }
    ).encode()
