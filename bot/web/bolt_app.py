"""The app factory: one Bolt App for Socket Mode (`iamauth run`) and HTTP (`iamauth web`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.adapters.slack.usergroups import UserGroups
from bot.adapters.slack.web_client import web_client
from bot.bootstrap import Runtime
from bot.config import ConfigError
from bot.ops import redact, request_id, telemetry
from bot.ops.user_limits import UserRateLimiter
from bot.services.health import health
from bot.web.ack_timer import AckTimer
from bot.web.request_guard import SlackRequestGuard
from bot.web.request_limits import web_limits
from handlers import Deps, register

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

EVENTS_PATH = "/slack/events"
# Commands answered at once per process; more wait in the queue (acked already, answered later).
JOB_THREADS = 32
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"


def build_app(runtime: Runtime, *, socket_mode: bool = False) -> App:
    settings = runtime.settings
    if not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN is not set: the bot cannot talk to Slack without it.")
    if not socket_mode and not settings.slack_signing_secret:
        raise ConfigError("SLACK_SIGNING_SECRET is not set: HTTP requests cannot be verified.")
    redact.install()
    request_id.install()
    redact.register_secrets(
        [settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token]
    )
    client = web_client(settings)
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        logger=logging.getLogger("iamauth.bolt"),
        # Verify the token once at start: a wrong token fails here, not at the first command.
        token_verification_enabled=True,
    )
    app.use(AckTimer())
    if not settings.access.enforced:
        logging.getLogger(__name__).warning(
            "access control is off: anyone may change watches; set [access] in IAMAUTH_CONFIG"
        )
    register(
        app,
        Deps(
            service=runtime.service,
            max_window=settings.max_window,
            watching=runtime.watching,
            policy=settings.access,
            groups=UserGroups(client),
            store=runtime.store,
            clock=runtime.clock,
            jobs=ThreadPoolExecutor(max_workers=JOB_THREADS, thread_name_prefix="iamauth-job"),
            slack=client,
            user_limits=UserRateLimiter(settings.user_rate),
        ),
    )
    return app


def wsgi_app(app: App, runtime: Runtime) -> WSGIApplication:
    """Bolt's WSGI handler on /slack/events behind the request guard (size, time, signature),
    /healthz for load balancers, /metrics for Prometheus."""
    if not runtime.settings.slack_signing_secret:
        raise ConfigError("SLACK_SIGNING_SECRET is not set: HTTP requests cannot be verified.")
    try:
        limits = web_limits()
    except ValueError as error:
        raise ConfigError(str(error)) from None
    slack = SlackRequestGuard(
        SlackRequestHandler(app, path=EVENTS_PATH),
        signing_secret=runtime.settings.slack_signing_secret,
        limits=limits,
        path=EVENTS_PATH,
    )

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") == HEALTH_PATH:
            status, report = health(runtime.store, runtime.clock, runtime.settings.tick_seconds)
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


def create_wsgi_app() -> Callable[..., Iterable[bytes]]:
    """For gunicorn: `gunicorn 'bot.web.bolt_app:create_wsgi_app()'`."""
    from bot.config import load_settings
    from bot.ops.logging_setup import configure_logging

    configure_logging(json_default=True)
    runtime = Runtime.build(load_settings())
    return wsgi_app(build_app(runtime), runtime)
