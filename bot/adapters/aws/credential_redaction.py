"""Every AWS credential the process holds or receives is registered with the redactor before
botocore can log it.

At DEBUG botocore logs each request's signed headers (the session token) and each answer's raw
body (an AssumeRole answer holds a new secret key and session token). So:
- answers of the APIs that hand out credentials (STS, SSO) are read just before botocore parses,
  and so logs, them: the `before-parse` event, on the session, so that the clients botocore makes
  for its own credential providers (a profile's role, web identity, SSO) have it too;
- the credentials a session resolved (environment, shared files, container or instance metadata,
  any provider) are registered once resolved, and refreshable ones again at each refresh, before
  they sign anything.
The field patterns of bot/ops/redact.py still catch what this misses.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

import boto3
from botocore.credentials import Credentials, RefreshableCredentials

from bot.ops import redact

# Services (botocore's hyphenated service ids) whose answers carry credentials.
ISSUERS = ("sts", "sso", "sso-oidc", "cognito-identity")

_lock = threading.Lock()
_watched: weakref.WeakSet[RefreshableCredentials] = weakref.WeakSet()

Refresh = Callable[[], dict[str, Any]]


def guard_session(session: boto3.session.Session) -> None:
    """Register the credentials in the answers of ISSUERS to clients this session makes from now
    on (clients copy the session's handlers when they are made)."""
    source = object()  # one set of generations per session

    def register_answer(response_dict: dict[str, Any] | None = None, **_: Any) -> None:
        body = (response_dict or {}).get("body")
        if isinstance(body, bytes) and body:
            text = body.decode("utf-8", "replace")
            redact.register_secrets(redact.credential_values(text), source=source)

    for service in ISSUERS:
        session.events.register(
            f"before-parse.{service}", register_answer, unique_id=f"iamauth-redact-{service}"
        )


def register_credentials(credentials: Credentials | None) -> None:
    """Register what `credentials` hold now and, if refreshable, what each refresh brings."""
    if credentials is None:
        return
    if not isinstance(credentials, RefreshableCredentials):
        redact.register_secrets([credentials.secret_key, credentials.token])
        return
    # botocore keeps the refresh function and current values in private attributes and offers no
    # hook; reading `.secret_key` instead would fetch now (an AssumeRole call), not at first use.
    state = vars(credentials)
    source = object()  # one set of generations per credentials
    with _lock:
        if credentials in _watched:
            return
        _watched.add(credentials)
        state["_refresh_using"] = registering(state["_refresh_using"], source=source)
    redact.register_secrets([state.get("_secret_key"), state.get("_token")], source=source)


def registering(refresh: Refresh, *, source: object) -> Refresh:
    """`refresh` (a refreshable credentials' fetch), registering each result before it is used."""

    def refresh_and_register() -> dict[str, Any]:
        metadata = refresh()
        redact.register_secrets([metadata.get("secret_key"), metadata.get("token")], source=source)
        return metadata

    return refresh_and_register
