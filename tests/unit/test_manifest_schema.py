"""manifest.yml against Slack's published app manifest schema (vendored, so offline), and against
what the bot actually listens to: it must ask for no more than the bot needs, and no less.

The schema is slackapi/manifest-schema's v1 schema (see tests/data/README.md for its source)."""

from __future__ import annotations

import copy
import json
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml  # type: ignore[import-untyped]

import handlers
from bot.services.doctor import SLACK_SCOPES
from handlers.context import Deps

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "manifest.yml"
README = ROOT / "README.md"
SCHEMA = ROOT / "tests" / "data" / "slack_app_manifest.schema.json"

# Every bot scope and why the bot needs it; nothing else may be asked for.
EXPECTED_BOT_SCOPES = {
    "commands": "the /iamauth slash command",
    "chat:write": "answers, digests, and answers to Home tab clicks in the messages tab",
    "files:write": "metrics charts",
    "channels:history": "finding a digest already posted before a crash",
    "groups:history": "the same in private channels",
    "usergroups:read": "admins and owners named by user group in [access]",
}


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return schema


def _manifest() -> dict[str, Any]:
    manifest: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return manifest


def _errors(manifest: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(_schema())
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(manifest)
    ]


def _registered() -> dict[str, list[str]]:
    """What handlers.register subscribes to, by kind (command, event, options, action, view)."""
    calls: dict[str, list[str]] = defaultdict(list)

    class Recorder:
        def __getattr__(self, kind: str) -> Callable[[str], Callable[[object], object]]:
            def subscribe(key: str) -> Callable[[object], object]:
                calls[kind].append(key)
                return lambda listener: listener

            return subscribe

    # A stand-in Deps with the Home tab on: registration only wraps listeners, it calls nothing.
    handlers.register(cast(Any, Recorder()), cast(Deps, SimpleNamespace(home=object())))
    return calls


def _http_mode_manifest() -> dict[str, Any]:
    """manifest.yml as its comments say to set it for `iamauth web`: each commented-out URL line
    turned on and Socket Mode off."""
    text = re.sub(
        r"^(\s*)# ((?:url|request_url|message_menu_options_url): https://\S+).*$",
        r"\1\2",
        MANIFEST.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    manifest: dict[str, Any] = yaml.safe_load(text)
    manifest["settings"]["socket_mode_enabled"] = False
    return manifest


def test_the_vendored_schema_is_a_valid_draft_7_schema() -> None:
    jsonschema.Draft7Validator.check_schema(_schema())


def test_the_manifest_is_a_version_1_manifest() -> None:
    # The vendored schema is Slack's v1 schema: the one Slack applies without `_metadata`.
    major = _manifest().get("_metadata", {}).get("major_version", 1)
    assert major == 1


def test_the_manifest_validates_against_slacks_schema() -> None:
    assert _errors(_manifest()) == []


def test_the_manifest_for_http_mode_validates_too() -> None:
    manifest = _http_mode_manifest()
    assert _errors(manifest) == []
    url = "https://your-host.example.com/slack/events"
    interactivity = manifest["settings"]["interactivity"]
    # The watch form's cluster menu is an external_select: its options come from this URL.
    assert interactivity["message_menu_options_url"] == url
    assert interactivity["request_url"] == url
    assert manifest["settings"]["event_subscriptions"]["request_url"] == url
    assert [c["url"] for c in manifest["features"]["slash_commands"]] == [url]


def _unknown_scope_type(m: dict[str, Any]) -> None:
    m["oauth_config"]["scopes"]["bots"] = m["oauth_config"]["scopes"].pop("bot")


def _no_app_name(m: dict[str, Any]) -> None:
    del m["display_information"]["name"]


def _command_without_slash(m: dict[str, Any]) -> None:
    m["features"]["slash_commands"][0]["command"] = "iamauth"


def _interactivity_without_is_enabled(m: dict[str, Any]) -> None:
    del m["settings"]["interactivity"]["is_enabled"]


def _options_url_not_a_url(m: dict[str, Any]) -> None:
    m["settings"]["interactivity"]["message_menu_options_url"] = "your-host/slack/events"


@pytest.mark.parametrize(
    ("breakage", "where"),
    [
        (_unknown_scope_type, "oauth_config/scopes"),
        (_no_app_name, "display_information"),
        (_command_without_slash, "features/slash_commands/0/command"),
        (_interactivity_without_is_enabled, "settings/interactivity"),
        (_options_url_not_a_url, "settings/interactivity/message_menu_options_url"),
    ],
)
def test_a_broken_manifest_fails_validation(
    breakage: Callable[[dict[str, Any]], None], where: str
) -> None:
    broken = copy.deepcopy(_manifest())
    breakage(broken)
    errors = _errors(broken)
    assert errors, "the schema accepted a broken manifest"
    assert any(e.startswith(f"{where}:") for e in errors), errors


def test_the_background_color_is_a_hex_colour() -> None:
    # The schema states this with `regex`, a keyword JSON Schema ignores, so check it here.
    display = _schema()["definitions"]["app-manifests.v1.display_information.schema"]
    pattern = display["properties"]["background_color"]["regex"]
    assert re.fullmatch(pattern, _manifest()["display_information"]["background_color"])


def test_the_app_home_has_the_home_tab_and_a_read_only_messages_tab() -> None:
    features = _manifest()["features"]
    assert set(features) == {"app_home", "bot_user", "slash_commands"}
    assert features["app_home"] == {
        "home_tab_enabled": True,
        # Answers to the Home tab's buttons and forms are posted to the person's messages tab.
        "messages_tab_enabled": True,
        # The bot reads no messages, so people are not invited to write to it.
        "messages_tab_read_only_enabled": True,
    }


def test_the_manifest_declares_exactly_what_the_bot_listens_to() -> None:
    manifest, registered = _manifest(), _registered()
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert commands == registered["command"] == ["/iamauth"]
    events = manifest["settings"]["event_subscriptions"]
    assert set(events) <= {"bot_events", "request_url"}  # no user events
    assert events["bot_events"] == registered["event"] == ["app_home_opened"]
    # Buttons, forms and the external select's options all arrive as interactivity.
    assert registered["options"]
    assert registered["action"]
    assert registered["view"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


def test_in_socket_mode_no_url_is_set_and_the_options_arrive_over_the_socket() -> None:
    settings = _manifest()["settings"]
    assert settings["socket_mode_enabled"] is True
    # The manifest ships for `iamauth run`. Its URLs are only example-host placeholders for HTTP
    # mode (commented out): left in, turning Socket Mode off would send Slack to a host nobody runs.
    assert "request_url" not in settings["interactivity"]
    assert "message_menu_options_url" not in settings["interactivity"]
    assert "request_url" not in settings["event_subscriptions"]


def test_the_bot_scopes_are_exactly_those_it_needs() -> None:
    scopes = _manifest()["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}  # no user token
    bot = scopes["bot"]
    assert len(bot) == len(set(bot))
    assert set(bot) == set(EXPECTED_BOT_SCOPES)
    # `iamauth doctor` checks a token against its own copy of the list.
    assert set(SLACK_SCOPES) == set(EXPECTED_BOT_SCOPES)


def test_every_scope_the_readme_names_is_in_the_manifest() -> None:
    # The README names scopes in prose ("the `files:write` scope"), it has no full list.
    named = set(re.findall(r"`([a-z]+:[a-z.:]+)` scope", README.read_text(encoding="utf-8")))
    assert named, "the README no longer names any scope: update this test"
    assert named <= set(_manifest()["oauth_config"]["scopes"]["bot"])
