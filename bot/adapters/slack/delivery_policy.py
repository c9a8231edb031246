"""What a failed Slack call means for an outbox row, when to try it again, and for how long.

Only a 429 or a refusal (an `ok: false` error another try cannot fix) proves that nothing was
posted; anything else (a 5xx, `internal_error`, a timeout, a dropped connection) may have come
after Slack posted the message.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from http.client import HTTPException

from slack_sdk.errors import SlackApiError

from bot.adapters.slack.web_client import retry_after
from bot.config import ConfigError
from bot.domain.window import WindowError, parse_duration

# Errors another try will not fix: the row is marked failed instead of retried.
PERMANENT_ERRORS = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "invalid_blocks", "msg_too_long",
     "invalid_auth", "account_inactive", "token_revoked", "missing_scope", "restricted_action",
     "invalid_blocks_format", "no_text", "too_many_attachments", "invalid_metadata_format",
     "invalid_metadata_schema", "metadata_too_large", "metadata_must_be_sent_from_app",
     "restricted_action_read_only_channel", "restricted_action_thread_only_channel",
     "restricted_action_non_threadable_channel", "ekm_access_denied", "team_access_not_granted",
     "access_denied", "not_authed", "no_permission", "not_allowed_token_type", "token_expired",
     "org_login_required", "two_factor_setup_required", "enterprise_is_restricted",
     "invalid_arguments", "invalid_arg_name", "invalid_array_arg", "invalid_charset",
     "invalid_form_data", "invalid_post_type", "missing_post_type", "method_deprecated",
     "deprecated_endpoint"}
)  # fmt: skip
MAX_AGE_ENV = "IAMAUTH_OUTBOX_MAX_AGE"
DEFAULT_MAX_AGE = timedelta(hours=24)
LONGEST_MAX_AGE = timedelta(days=14)
FIRST_BACKOFF = timedelta(seconds=1)
_ERROR_CODE = re.compile(r"[a-z0-9_]{1,64}")


def max_age_from(env: Mapping[str, str]) -> timedelta:
    """IAMAUTH_OUTBOX_MAX_AGE (`36h`, `2d`…): how long an undelivered digest is retried."""
    raw = env.get(MAX_AGE_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_AGE
    try:
        return parse_duration(raw, maximum=LONGEST_MAX_AGE)
    except WindowError as error:
        raise ConfigError(
            f"{MAX_AGE_ENV}={raw[:40]!r}: write how long an undelivered digest is retried as a "
            "number and m, h or d, from 1m to 14d (default 24h)."
        ) from error


def backoff(attempts: int, tick: timedelta) -> timedelta:
    """After the `attempts`-th transient failure: 1 s, 2 s, 4 s… with jitter, but never more than
    half a tick, so the row is tried again at every tick: the first after Slack recovers."""
    ceiling: timedelta = min(FIRST_BACKOFF * 2 ** min(max(attempts, 1) - 1, 20), tick / 2)
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret


@dataclass(frozen=True)
class Failure:
    code: str
    permanent: bool = False
    maybe_posted: bool = True  # only a 429 or a refusal proves nothing was posted
    retry_after: float | None = None


def failure_of(error: Exception) -> Failure:
    if not isinstance(error, SlackApiError):
        return Failure(type(error).__name__)  # no answer: a timeout, a reset or dropped connection
    status = error.response.status_code
    data = error.response.data
    code = str(data.get("error", "")) if isinstance(data, dict) else ""
    if status == 429:
        return Failure(
            "ratelimited", maybe_posted=False, retry_after=retry_after(error.response.headers)
        )
    if code in PERMANENT_ERRORS:
        return Failure(code, permanent=True, maybe_posted=False)
    return Failure(code if _ERROR_CODE.fullmatch(code) else f"http_{status}")


# What a failed Slack call raises: Slack's answer, or no answer at all.
SLACK_FAILURES = (SlackApiError, OSError, HTTPException)
