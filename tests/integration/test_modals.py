"""The watch and silence modals, over HTTP through the real Bolt app: `/iamauth watch` typed
alone opens one (views.open recorded by the Slack stand-in), its cluster menu answers a signed
block_suggestion, and its signed view_submission payloads are refused next to their fields or
stored, audited and used by the digest, as the text commands are."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.adapters.aws.clients import AwsClients
from bot.adapters.slack.web_client import web_client
from bot.adapters.store.repo import AuditEntry
from bot.bootstrap import Runtime, build_app, wsgi_app
from bot.config import Settings
from bot.domain.access import AccessPolicy, ClusterAccess
from bot.domain.address import Address
from bot.domain.watches import parse_threshold_spec
from bot.sandbox.local_server import LocalServer
from bot.sandbox.seed_aws import create_cluster
from bot.sandbox.slack_signing import block_actions_body, signed_headers
from bot.sandbox.slack_standin import Recorded, SlackStandIn
from bot.views.modals import (
    CLUSTER_ACTION,
    HOME_WATCH_ACTION,
    SILENCE_MODAL,
    WATCH_MODAL,
)
from tests.conftest import BotUnderTest
from tests.integration.digest_helpers import INVALID, put_per_minute
from tests.integration.test_slash_commands import all_text

ORIGIN, OPS, OTHER = "C0DEMO0001", "C0OPS00001", "C0OTHER001"
USER, OWNER = "U0DEMO0001", "U0OWNER001"


def payload_body(payload: dict[str, Any]) -> bytes:
    """An interactive request, as Slack posts it: form-encoded `payload` holding JSON."""
    return urlencode({"payload": json.dumps(payload)}).encode()


def view(callback_id: str, origin: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": "V0MODAL001",
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps({"channel": origin}),
        "state": {"values": values or {}},
        "hash": "1.abc",
    }


def suggest(bot: BotUnderTest, typed: str, origin: str, user: str = USER) -> list[str]:
    """A signed block_suggestion of the cluster menu; the option values answered."""
    body = payload_body(
        {
            "type": "block_suggestion",
            "user": {"id": user, "team_id": "T0TEAM0001"},
            "team": {"id": "T0TEAM0001"},
            "api_app_id": "A0IAMAUTH1",
            "container": {"type": "view", "view_id": "V0MODAL001"},
            "action_id": CLUSTER_ACTION,
            "block_id": "cluster",
            "value": typed,
            "view": view(WATCH_MODAL, origin),
        }
    )
    status, raw = bot.post(body, signed_headers(bot.secret, body))
    assert status == 200
    return [option["value"] for option in json.loads(raw)["options"]]


def submit(
    bot: BotUnderTest, callback_id: str, values: dict[str, Any], origin: str, user: str = USER
) -> dict[str, Any] | None:
    """A signed view_submission; the ack's JSON, or None when the modal is closed."""
    body = payload_body(
        {
            "type": "view_submission",
            "team": {"id": "T0TEAM0001"},
            "user": {"id": user, "team_id": "T0TEAM0001"},
            "api_app_id": "A0IAMAUTH1",
            "trigger_id": "1.2.4",
            "view": view(callback_id, origin, values),
            "response_urls": [],
        }
    )
    status, raw = bot.post(body, signed_headers(bot.secret, body))
    assert status == 200
    return json.loads(raw) if raw.strip() else None


def text_state(value: str | None) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def watch_values(
    cluster: str | None,
    channel: str,
    families: dict[str, tuple[str, str]],
    repeat: str = "4h",
    resolved: bool = True,
) -> dict[str, Any]:
    """The state Slack sends for the watch modal; families left out are left empty."""
    option = {"text": {"type": "plain_text", "text": "Send a resolved notice"}, "value": "yes"}
    values: dict[str, Any] = {
        "cluster": {
            CLUSTER_ACTION: {
                "type": "external_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": cluster},
                    "value": cluster,
                }
                if cluster
                else None,
            }
        },
        "channel": {"channel": {"type": "conversations_select", "selected_conversation": channel}},
        "repeat": {"repeat": text_state(repeat)},
        "resolved": {
            "resolved": {"type": "checkboxes", "selected_options": [option] if resolved else []}
        },
    }
    for key in ("invalid_token", "insufficient_permissions", "throttling", "server_error"):
        count, window = families.get(key, ("", ""))
        values[f"{key}_count"] = {f"{key}_count": {"type": "number_input", "value": count or None}}
        values[f"{key}_window"] = {f"{key}_window": text_state(window or None)}
    return values


def silence_values(cluster: str | None, duration: str, reason: str = "") -> dict[str, Any]:
    selected = {"text": {"type": "plain_text", "text": cluster}, "value": cluster}
    return {
        "cluster": {
            CLUSTER_ACTION: {
                "type": "external_select",
                "selected_option": selected if cluster else None,
            }
        },
        "duration": {"duration": text_state(duration)},
        "reason": {"reason": text_state(reason or None)},
    }


def told(slack: SlackStandIn, user: str) -> Recorded:
    """The answer to a submission: an ephemeral message to `user` (or a DM)."""
    return slack.wait_for(
        lambda r: (
            (r.method == "chat.postEphemeral" and r.body.get("user") == user)
            or (r.method == "chat.postMessage" and r.body.get("channel") == user)
        )
    )


def audited(bot: BotUnderTest, count: int = 1) -> list[AuditEntry]:
    """The last `count` audit entries, waiting (up to 15 s) for work after the ack to write them."""
    deadline = time.monotonic() + 15
    while len(entries := bot.runtime.store.recent_audit(count)) < count:
        assert time.monotonic() < deadline, "no audit entry was written"
        time.sleep(0.02)
    return entries


def nothing_changed(bot: BotUnderTest) -> None:
    assert bot.runtime.store.list_watches() == []
    assert bot.runtime.store.active_silences(bot.runtime.clock()) == {}


def test_watch_typed_alone_opens_the_watch_modal(bot: BotUnderTest) -> None:
    reply = bot.command("watch", expect_reply=False)
    assert reply.status == 200
    assert reply.ack is None  # an empty ack: the modal is the answer
    opened = bot.slack.wait_for(lambda r: r.method == "views.open")
    assert opened.status == 200
    assert opened.body["trigger_id"] == "1.2.3"
    modal = opened.body["view"]
    assert modal["callback_id"] == WATCH_MODAL
    assert json.loads(modal["private_metadata"]) == {"channel": ORIGIN}
    blocks = {b["block_id"]: b["element"] for b in modal["blocks"]}
    assert blocks["cluster"]["type"] == "external_select"
    assert blocks["cluster"]["action_id"] == CLUSTER_ACTION
    assert blocks["channel"]["type"] == "conversations_select"
    assert blocks["channel"]["initial_conversation"] == ORIGIN
    # The defaults the text command uses (DEFAULT_THRESHOLDS, DEFAULT_REPEAT).
    assert blocks["invalid_token_count"]["initial_value"] == "5"
    assert blocks["invalid_token_window"]["initial_value"] == "5m"
    assert blocks["insufficient_permissions_count"]["initial_value"] == "1"
    assert blocks["insufficient_permissions_window"]["initial_value"] == "15m"
    assert "initial_value" not in blocks["throttling_count"]
    assert blocks["repeat"]["initial_value"] == "4h"
    assert [o["value"] for o in blocks["resolved"]["initial_options"]] == ["yes"]
    (entry,) = audited(bot)  # written once views.open has answered
    assert (entry.action, entry.outcome) == ("/iamauth watch", "allowed")
    nothing_changed(bot)


def test_silence_typed_alone_opens_the_silence_modal(bot: BotUnderTest) -> None:
    reply = bot.command("silence", expect_reply=False)
    assert (reply.status, reply.ack) == (200, None)
    opened = bot.slack.wait_for(lambda r: r.method == "views.open")
    assert opened.body["trigger_id"] == "1.2.3"
    modal = opened.body["view"]
    assert modal["callback_id"] == SILENCE_MODAL
    assert [b["block_id"] for b in modal["blocks"]] == ["cluster", "duration", "reason"]
    # With words, the text forms answer as before.
    reply = bot.command("silence prod-db", expect_reply=False)
    assert reply.ack is not None
    assert "Usage" in all_text(reply.ack)


def test_the_home_tab_button_opens_the_watch_modal(bot: BotUnderTest) -> None:
    body = block_actions_body(HOME_WATCH_ACTION, "", bot.slack.response_url("h1"), channel_id="")
    status, raw = bot.post(body, signed_headers(bot.secret, body))
    assert (status, raw.strip()) == (200, b"")
    opened = bot.slack.wait_for(lambda r: r.method == "views.open")
    assert opened.body["trigger_id"] == "1.2.3"
    assert opened.body["view"]["callback_id"] == WATCH_MODAL


@pytest.fixture
def guarded(
    settings: Settings, aws: AwsClients, clock: Callable[[], datetime], slack: SlackStandIn
) -> Iterator[BotUnderTest]:
    """Access enforced: prod-db and orders-db may be read in ORIGIN and OPS, secret-db only in
    OTHER; prod-db's owner is OWNER."""
    policy = AccessPolicy(
        enforced=True,
        channels=frozenset({ORIGIN, OPS}),
        clusters={
            "secret-db": ClusterAccess(channels=frozenset({OTHER})),
            "prod-db": ClusterAccess(owners=frozenset({OWNER})),
        },
    )
    runtime = Runtime.build(replace(settings, access=policy), aws=aws, clock=clock)
    assert runtime.settings.slack_signing_secret
    with LocalServer(wsgi_app(build_app(runtime), runtime)) as server:
        yield BotUnderTest(server.url, runtime.settings.slack_signing_secret, slack, runtime)


def test_the_cluster_menu_offers_only_clusters_readable_where_it_was_opened(
    guarded: BotUnderTest, aws: AwsClients
) -> None:
    for name in ("prod-db", "orders-db", "secret-db"):
        create_cluster(aws.rds(), name, iam=True, exports=[], instances=1)
    create_cluster(aws.rds(), "no-iam-db", iam=False, exports=[], instances=1)
    assert suggest(guarded, "", ORIGIN) == ["orders-db", "prod-db"]
    assert suggest(guarded, "PROD", ORIGIN) == ["prod-db"]
    assert suggest(guarded, "", OTHER) == ["secret-db"]
    assert suggest(guarded, "", "C0NOBODY01") == []


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        (
            watch_values("bad--id", OPS, {"invalid_token": ("0", "5m"), "throttling": ("3", "2d")}),
            {
                "cluster": "not an RDS cluster identifier",
                "invalid_token_count": "count must be a whole number",
                "throttling_window": "at most `24h`",
            },
        ),
        (
            watch_values(None, OPS, {"invalid_token": ("5", "")}),
            {"cluster": "Choose a cluster", "invalid_token_window": "Give the window"},
        ),
        (
            watch_values("prod-db", OPS, {"invalid_token": ("5", "5m")}, repeat="8d"),
            {"repeat": "repeat can be at most `7d`"},
        ),
        (
            watch_values("prod-db", "general", {"invalid_token": ("5", "5m")}),
            {"channel": "is not a Slack channel id"},
        ),
        (watch_values("prod-db", OPS, {}), {"invalid_token_count": "at least one threshold"}),
        # Forged: digits int() refuses (superscripts, 5,000 of them), no state at all.
        (
            watch_values(
                "prod-db", OPS, {"invalid_token": ("²", "5m"), "throttling": ("9" * 5000, "5m")}
            ),
            {"invalid_token_count": "whole number", "throttling_count": "whole number"},
        ),
        ({"cluster": "garbage"}, {"cluster": "Choose a cluster"}),
    ],
)
def test_a_bad_watch_submission_is_refused_next_to_its_fields(
    bot: BotUnderTest, values: dict[str, Any], errors: dict[str, str]
) -> None:
    answer = submit(bot, WATCH_MODAL, values, ORIGIN)
    assert answer is not None
    assert answer["response_action"] == "errors"
    assert answer["errors"].keys() == errors.keys()
    for block, expected in errors.items():
        assert expected in answer["errors"][block]
    nothing_changed(bot)
    (entry,) = audited(bot)
    assert entry.outcome == "invalid"
    assert not [r for r in bot.slack.requests if r.method.startswith("chat.")]


def test_a_good_watch_submission_is_stored_audited_and_used_by_the_digest(
    bot: BotUnderTest, aws: AwsClients, now: datetime
) -> None:
    create_cluster(aws.rds(), "prod-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    put_per_minute(aws, "prod-db", INVALID, now, {m: 3.0 for m in range(-10, 2)})
    values = watch_values("prod-db", OPS, {"invalid_token": ("3", "10m")}, "1h", resolved=False)
    assert submit(bot, WATCH_MODAL, values, ORIGIN) is None  # closed
    answer = told(bot.slack, USER)
    assert answer.body["channel"] == ORIGIN
    assert "Now watching `prod-db` → <#C0OPS00001>: invalid_token ≥ 3 in 10m; repeat every 1h" in (
        all_text(answer.body)
    )
    (watch,) = bot.runtime.store.list_watches()
    assert (watch.cluster, watch.channel, watch.created_by) == (Address("prod-db"), OPS, USER)
    assert watch.thresholds == (parse_threshold_spec("invalid_token>=3/10m"),)
    assert (watch.repeat, watch.send_resolved) == (timedelta(hours=1), False)
    (entry,) = bot.runtime.store.recent_audit(5)
    assert (entry.user_id, entry.channel_id, entry.outcome) == (USER, ORIGIN, "allowed")
    assert (
        entry.action
        == "modal watch prod-db <#C0OPS00001> invalid_token>=3/10m repeat=1h resolved=no"
    )
    fired = bot.runtime.digest_runner().tick(now).notices
    assert [(str(w.cluster), w.channel, n.kind.value) for w, n in fired] == [
        ("prod-db", OPS, "firing")
    ]
    bot.runtime.deliverer(web_client(bot.runtime.settings)).deliver_pending()
    (posted,) = bot.slack.posted(OPS)
    assert posted.body["text"].startswith("IAM auth alerts: prod-db InvalidToken firing")


def test_a_watch_submission_is_authorised_like_the_command(guarded: BotUnderTest) -> None:
    values = watch_values("prod-db", OPS, {"invalid_token": ("3", "10m")})
    assert submit(guarded, WATCH_MODAL, values, ORIGIN, user=USER) is None
    assert "Only admins and the owners of `prod-db`" in all_text(told(guarded.slack, USER).body)
    # The owner, but to a channel that may not read prod-db.
    values = watch_values("prod-db", OTHER, {"invalid_token": ("3", "10m")})
    assert submit(guarded, WATCH_MODAL, values, ORIGIN, user=OWNER) is None
    assert "may not be sent there" in all_text(told(guarded.slack, OWNER).body)
    nothing_changed(guarded)
    assert [e.outcome for e in guarded.runtime.store.recent_audit(5)] == ["refused", "refused"]


def test_silence_submissions(bot: BotUnderTest, aws: AwsClients, now: datetime) -> None:
    answer = submit(bot, SILENCE_MODAL, silence_values(None, "60d"), ORIGIN)
    assert answer is not None
    assert answer["response_action"] == "errors"
    assert answer["errors"].keys() == {"cluster", "duration"}
    assert "at most `30d`" in answer["errors"]["duration"]
    nothing_changed(bot)

    create_cluster(aws.rds(), "prod-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    put_per_minute(aws, "prod-db", INVALID, now, {m: 3.0 for m in range(-10, 2)})
    assert "Now watching" in all_text(
        bot.command("watch prod-db invalid_token>=3/10m").response.body  # type: ignore[union-attr]
    )
    values = silence_values("prod-db", "2h", "deploy <!channel>")
    assert submit(bot, SILENCE_MODAL, values, ORIGIN) is None
    said = all_text(told(bot.slack, USER).body)
    assert "Alerts of `prod-db` are silenced until" in said
    assert "(deploy &lt;!channel&gt;)" in said
    silence = bot.runtime.store.active_silences(now)[Address("prod-db")]
    assert silence.until == now + timedelta(hours=2)
    entry = bot.runtime.store.recent_audit(1)[0]
    assert (entry.action, entry.outcome) == (
        "modal silence prod-db 2h deploy <!channel>",
        "allowed",
    )
    assert bot.runtime.digest_runner().tick(now).notices == []  # silenced


def test_a_submission_from_the_home_tab_is_answered_by_dm(bot: BotUnderTest) -> None:
    """The Home tab's modal has no channel: the answer goes to the person's DM with the app."""
    assert submit(bot, SILENCE_MODAL, silence_values("prod-db", "1h"), "") is None
    answer = told(bot.slack, USER)
    assert answer.method == "chat.postMessage"
    assert "Alerts of `prod-db` are silenced until" in all_text(answer.body)
    assert Address("prod-db") in bot.runtime.store.active_silences(bot.runtime.clock())
    assert audited(bot)[0].channel_id == ""
