"""The web process's routes: Bolt on /slack/events behind the request guard (size, time,
signature), /healthz for load balancers, /metrics for Prometheus."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.ops import telemetry
from bot.web.request_guard import SlackRequestGuard
from bot.web.request_limits import WebLimits

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
# (HTTP status, JSON body) of /healthz (bot/services/health.py).
HealthProbe = Callable[[], tuple[int, dict[str, Any]]]


def wsgi_routes(
    app: App, *, signing_secret: str, limits: WebLimits, health: HealthProbe
) -> WSGIApplication:
    slack = SlackRequestGuard(
        SlackRequestHandler(app, path=EVENTS_PATH),
        signing_secret=signing_secret,
        limits=limits,
        path=EVENTS_PATH,
    )

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") == HEALTH_PATH:
            status, report = health()
            start_response(
                "200 OK" if status == 200 else "503 Service Unavailable",
                [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
            )
            return [json.dumps(report).encode()]
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") == METRICS_PATH:
            body, content_type = telemetry.exposition()
            start_response("200 OK", [("Content-Type", content_type)])
            return [body]
        return slack(environ, start_response)

    return application
