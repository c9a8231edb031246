"""How the outbox treats each Slack failure, how long it waits, and its two settings."""

from __future__ import annotations

from datetime import timedelta
from http.client import RemoteDisconnected
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.adapters.slack.delivery_policy import Failure, backoff, failure_of, max_age_from
from bot.adapters.slack.web_client import retry_after
from bot.config import ConfigError
from bot.scheduler import lease_ttl


def slack_error(status: int, data: Any, headers: dict[str, str] | None = None) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.invalid/api/chat.postMessage",
        req_args={},
        data=data,
        headers=headers or {},
        status_code=status,
    )
    return SlackApiError("failed", response)  # type: ignore[no-untyped-call]


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        # Only a 429 or a refusal proves nothing was posted.
        (
            slack_error(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "20"}),
            Failure("ratelimited", maybe_posted=False, retry_after=20.0),
        ),
        (
            slack_error(200, {"ok": False, "error": "channel_not_found"}),
            Failure("channel_not_found", permanent=True, maybe_posted=False),
        ),
        (slack_error(200, {"ok": False, "error": "internal_error"}), Failure("internal_error")),
        (
            slack_error(503, {"ok": False, "error": "service_unavailable"}),
            Failure("service_unavailable"),
        ),
        (
            slack_error(
                502, {"ok": False, "error": "Received a response in a non-JSON format: <h"}
            ),
            Failure("http_502"),
        ),
        (RemoteDisconnected("closed"), Failure("RemoteDisconnected")),
        (TimeoutError("timed out"), Failure("TimeoutError")),
    ],
)
def test_each_failure_is_permanent_or_retried_and_maybe_posted(
    error: Exception, failure: Failure
) -> None:
    assert failure_of(error) == failure


@pytest.mark.parametrize("tick", [timedelta(seconds=1), timedelta(seconds=60)])
def test_backoff_grows_but_never_past_half_a_tick(tick: timedelta) -> None:
    for attempts in range(1, 40):
        ceiling = min(timedelta(seconds=2 ** (attempts - 1)), tick / 2)
        for _ in range(20):
            assert ceiling / 2 <= backoff(attempts, tick) <= ceiling


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": ["7"]}, 7.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_is_read_in_any_spelling(
    headers: dict[str, Any], seconds: float | None
) -> None:
    assert retry_after(headers) == seconds


def test_the_lease_lasts_two_ticks_at_least_30_s_unless_set() -> None:
    assert lease_ttl(timedelta(seconds=60), {}) == timedelta(minutes=2)
    assert lease_ttl(timedelta(seconds=1), {}) == timedelta(seconds=30)
    assert lease_ttl(timedelta(seconds=60), {"IAMAUTH_LEASE_SECONDS": "5"}) == timedelta(seconds=5)
    for bad in ("0", "-5", "2.5", "a minute", "86401"):
        with pytest.raises(ConfigError, match=r"^IAMAUTH_LEASE_SECONDS='.*': write how many"):
            lease_ttl(timedelta(seconds=60), {"IAMAUTH_LEASE_SECONDS": bad})


def test_an_undelivered_digest_is_retried_24h_unless_set() -> None:
    assert max_age_from({}) == timedelta(hours=24)
    assert max_age_from({"IAMAUTH_OUTBOX_MAX_AGE": "36h"}) == timedelta(hours=36)
    for bad in ("0m", "15d", "soon", "24"):
        with pytest.raises(ConfigError, match=r"^IAMAUTH_OUTBOX_MAX_AGE='.*': write how long"):
            max_age_from({"IAMAUTH_OUTBOX_MAX_AGE": bad})
