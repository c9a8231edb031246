"""The one place that builds Slack Web API clients: base URL, token, retries."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.web import SlackResponse

from bot.config import Settings
from bot.telemetry import SLACK_ERRORS


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


def web_client(settings: Settings) -> WebClient:
    """429s wait for Retry-After and 5xx are retried; both are common under chat.postMessage's
    one-message-per-second-per-channel limit."""
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
