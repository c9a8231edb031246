"""The bot's own Prometheus metrics, and their exposition for /metrics.

Counters and histograms only (no gauges), so prometheus_client's multiprocess mode works without
choosing gauge modes. Under gunicorn each worker is its own process with its own counters; with
PROMETHEUS_MULTIPROC_DIR set (bot/web/gunicorn_conf.py sets it for the web process) every worker
writes to files there and /metrics, in whichever worker answers, sums them all.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# `iamauth run` and `iamauth clock` are no web process; they serve /metrics on this port if set.
METRICS_PORT_ENV = "IAMAUTH_METRICS_PORT"
log = logging.getLogger(__name__)


def _make_multiproc_dir() -> None:
    """In multiprocess mode prometheus_client opens this process's file in PROMETHEUS_MULTIPROC_DIR
    as each metric below is made, so the directory must exist before: the first process to import
    this module (`iamauth web` itself, before it starts gunicorn) may come before any other."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)


_make_multiproc_dir()

COMMANDS = Counter(
    "iamauth_commands",
    "Slash commands and digest buttons served, by command and audit outcome "
    "(allowed, refused, invalid, error).",
    ["command", "outcome"],
)
ACK_SECONDS = Histogram(
    "iamauth_ack_seconds",
    "Seconds from Bolt handing a verified request to the bot's middleware until the listener "
    "called ack(); Slack gives up after 3 s.",
    ["type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
)
AWS_CALLS = Counter(
    "iamauth_aws_calls",
    "AWS API calls (after botocore's retries), by service, API and outcome: ok, the AWS error "
    "code, or the exception class when no answer came.",
    ["service", "api", "outcome"],
)
DIGESTS_POSTED = Counter("iamauth_digests_posted", "Alert digests posted to Slack channels.")
DIGESTS_UPDATED = Counter(
    "iamauth_digests_updated", "Alert messages edited in place as their alerts changed."
)
DIGEST_PARTS_FAILED = Counter(
    "iamauth_digest_parts_failed",
    "Parts of a digest tick that failed alone, by part (metrics: a place's watches skipped this "
    "tick; detail: a cluster's log detail left out of its digest) and reason (the error's class, "
    "or timeout).",
    ["part", "reason"],
)
DIGESTS_EXPIRED = Counter(
    "iamauth_digests_expired",
    "Alert digests given up unposted: still undelivered (Slack kept failing) when older than "
    "IAMAUTH_OUTBOX_MAX_AGE.",
)
SLACK_ERRORS = Counter(
    "iamauth_slack_errors",
    "Slack Web API calls that failed, by method and error (Slack's error code, or the exception "
    "class when no answer came).",
    ["method", "error"],
)


# AWS -------------------------------------------------------------------------------------------
def count_aws_calls(events: Any) -> None:
    """Count every call made through clients of this event system (a client's `meta.events` or a
    session's `events`, whose clients copy its handlers). unique_id makes it idempotent."""
    events.register("after-call", _after_call, unique_id="iamauth-count-calls")
    events.register("after-call-error", _after_call_error, unique_id="iamauth-count-call-errors")


def _service_and_api(event_name: str) -> tuple[str, str]:
    # "after-call.<service id>.<OperationName>"
    _, service, api = [*event_name.split(".", 2), "", ""][:3]
    return service or "unknown", api or "unknown"


def _after_call(
    *, event_name: str, http_response: Any = None, parsed: Any = None, **_: Any
) -> None:
    status = int(getattr(http_response, "status_code", 0) or 0)
    if status < 300:
        outcome = "ok"
    else:
        error = (parsed or {}).get("Error") or {}
        outcome = str(error.get("Code") or f"http_{status}")
    AWS_CALLS.labels(*_service_and_api(event_name), outcome).inc()


def _after_call_error(*, event_name: str, exception: BaseException | None = None, **_: Any) -> None:
    AWS_CALLS.labels(*_service_and_api(event_name), type(exception).__name__).inc()


# Exposition ------------------------------------------------------------------------------------
def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def registry() -> CollectorRegistry:
    """This process's metrics, or in multiprocess mode every process's, summed."""
    if not multiprocess():
        return REGISTRY
    collected = CollectorRegistry()
    MultiProcessCollector(collected)  # type: ignore[no-untyped-call]
    return collected


def exposition() -> tuple[bytes, str]:
    """The body and Content-Type of a /metrics answer."""
    return generate_latest(registry()), CONTENT_TYPE_LATEST


def serve_if_asked() -> None:
    """For processes without a web server (`run`, `clock`): /metrics on IAMAUTH_METRICS_PORT."""
    port = os.environ.get(METRICS_PORT_ENV, "").strip()
    if not port:
        return
    if not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        log.warning("%s=%r is not a port number; metrics are not served", METRICS_PORT_ENV, port)
        return
    try:
        start_http_server(int(port), registry=registry())
    except OSError:
        log.exception("cannot serve metrics on port %s", port)
        return
    log.info("metrics served on port %s at /metrics", port)
