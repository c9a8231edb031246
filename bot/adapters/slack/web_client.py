"""The one place that builds Slack Web API clients: base URL, token, retries."""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import SlackResponse

from bot.config import Settings
from bot.ops.telemetry import SLACK_ERRORS


class CountingWebClient(WebClient):
    """Every Web API method of WebClient goes through api_call: failures are counted there, by
    method and error. (Bolt's per-request `client` and response_url posts do not pass here; the
    bot's own calls all do.)"""

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as error:
            data = error.response.data
            code = data.get("error") if isinstance(data, dict) else None
            SLACK_ERRORS.labels(api_method, str(code or f"http_{error.response.status_code}")).inc()
            raise
        except Exception as error:  # no answer: connection refused, timeout…
            SLACK_ERRORS.labels(api_method, type(error).__name__).inc()
            raise


# A digest's post retries nothing but a short 429 inside one call, so one call lasts at most this
# long; bot/adapters/slack/outbox_delivery.py keeps every other process off a row it posts for
# longer than that.
DELIVERY_TIMEOUT_SECONDS = 5
DELIVERY_RATE_LIMIT_RETRIES = 1
MAX_RETRY_AFTER_SECONDS = 3  # waited inside the call; a longer Retry-After goes back to the outbox
DELIVERY_CALL_SECONDS = (DELIVERY_RATE_LIMIT_RETRIES + 1) * DELIVERY_TIMEOUT_SECONDS + (
    DELIVERY_RATE_LIMIT_RETRIES * (MAX_RETRY_AFTER_SECONDS + 1)  # +1: slack_sdk's jitter
)


def retry_after(headers: Mapping[str, Any]) -> float | None:
    """Seconds from a Retry-After header (any case; a value or a list of them), or None."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            first = value[0] if isinstance(value, list) and value else value
            try:
                return max(0.0, float(first))
            except (TypeError, ValueError):
                return None
    return None


class ShortRateLimitRetry(RetryHandler):
    """Only a 429 proves that nothing was posted, so only a 429 is tried again inside a call,
    after its Retry-After (plus up to 1 s of jitter), and only when that is short."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return self._wait(response) is not None

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        time.sleep((self._wait(response) or 0.0) + random.random())  # noqa: S311 - jitter
        state.next_attempt_requested = True
        state.increment_current_attempt()

    @staticmethod
    def _wait(response: HttpResponse | None) -> float | None:
        if response is None or response.status_code != 429:
            return None
        wait = retry_after(response.headers)
        return wait if wait is not None and wait <= MAX_RETRY_AFTER_SECONDS else None


def delivery_client(settings: Settings) -> WebClient:
    """For posting digests, which must reach a channel once. A 5xx, a timeout or a dropped
    connection may come after Slack posted the message, so none is retried here: the outbox tries
    again at the next tick, after searching the channel's history for the message (deliver.py)."""
    return CountingWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=DELIVERY_TIMEOUT_SECONDS,
        retry_handlers=[ShortRateLimitRetry(max_retry_count=DELIVERY_RATE_LIMIT_RETRIES)],
    )


def web_client(settings: Settings) -> WebClient:
    """For answers to people: 429s wait for Retry-After, and 5xx and dropped connections are
    retried, since an answer shown twice beats none (digests use delivery_client instead)."""
    return CountingWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )
