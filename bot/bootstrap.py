"""The one composition root: each process is built here from its settings, once.

`iamauth run`, `web` (gunicorn calls create_wsgi_app()), `clock`, the terminal commands and the
demo take what they need from here; nothing else builds an AWS or Slack client, the store, a
service, the job pool or the Bolt app. The AWS clients and the targets are built once a process
and shared by every service, the digest and the cluster identity.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING

from slack_bolt import App
from slack_sdk import WebClient

import handlers
from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.errors import AwsError
from bot.adapters.aws.rate_budget import RateBudget
from bot.adapters.aws.targets import Targets
from bot.adapters.slack.delivery_policy import max_age_from
from bot.adapters.slack.outbox_delivery import Deliverer
from bot.adapters.slack.usergroups import UserGroups
from bot.adapters.slack.web_client import delivery_client, web_client
from bot.adapters.store.db import make_engine, normalise_url
from bot.adapters.store.leader import LeaderLock, claim_or_refuse, leader_lock_for
from bot.adapters.store.rate_slots import PostgresSlots
from bot.adapters.store.repo import Store
from bot.config import ConfigError, Settings, load_settings
from bot.domain.access import AccessPolicy
from bot.domain.metrics import METRICS_DELAY
from bot.domain.watches import Watch
from bot.ops import redact, request_id
from bot.ops.clock import Clock, utc_now
from bot.ops.logging_setup import configure_logging
from bot.ops.rate_slots import LocalSlots
from bot.ops.user_limits import UserRateLimiter
from bot.scheduler import DigestJob, default_lease
from bot.services.alerting.aws_reads import AwsAlertReads
from bot.services.alerting.enrich import DETAIL_BUDGET_SECONDS
from bot.services.alerting.pipeline import DigestPipeline
from bot.services.audit_log import AuditLog
from bot.services.cluster_identity import ClusterIdentity
from bot.services.clusters import ClusterService
from bot.services.doctor import Check, run_checks
from bot.services.exact_counts import ExactOptions
from bot.services.health import health
from bot.services.home import HomeService
from bot.services.log_exports import LogExportService
from bot.services.queries import QueryService
from bot.services.watches import WatchService
from bot.views.chart_files import digest_png
from bot.views.digest import AlertMessageView, digest_payload
from bot.views.unwatched import unwatched_digest
from bot.web.bolt_app import bolt_app
from bot.web.request_limits import web_limits
from bot.web.wsgi import wsgi_routes

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

# Commands answered at once per process; more wait in the queue (acked already, answered later).
JOB_THREADS = 32
log = logging.getLogger(__name__)


def rate_budget(settings: Settings) -> RateBudget:
    """The account's log-read budget (rate_budget.py): one for every process of the deployment
    through PostgreSQL, this process's own on SQLite."""
    url = normalise_url(settings.database_url)
    slots = PostgresSlots(make_engine(url)) if url.startswith("postgresql") else LocalSlots()
    return RateBudget(slots, settings.read_rates)


def aws_clients(settings: Settings) -> tuple[AwsClients, Targets]:
    """The process's own AWS clients, and its targets (each place's clients, built when first
    used), their log reads within the account's budget. AwsError when the AWS settings cannot
    work (an unknown profile…)."""
    aws = AwsClients(replace(settings.aws, budget=rate_budget(settings)))
    return aws, Targets(settings.targets, aws.settings)


def _queries(settings: Settings, aws: AwsClients, targets: Targets, clock: Clock) -> QueryService:
    return QueryService(
        aws,
        event_cap=settings.event_cap,
        clock=clock,
        cache_seconds=settings.cache_seconds,
        targets=targets,
        exact=ExactOptions(
            read_seconds=settings.exact_read_seconds,
            requests_per_second=settings.read_rates.logs,
        ),
    )


def digest_pipeline(
    aws: AwsClients,
    store: Store,
    config_watches: Sequence[Watch] = (),
    *,
    clock: Clock,
    targets: Targets | None = None,
    policy: AccessPolicy | None = None,
    metrics_delay: timedelta = METRICS_DELAY,
    detail_budget_seconds: float = DETAIL_BUDGET_SECONDS,
    in_place: bool = True,
) -> DigestPipeline:
    """The digest tick wired to AWS (through `targets`, else `aws` alone), the store, and the
    Block Kit renderer; `in_place=False` (benchmark (h)'s baseline) posts every notice as a
    message of its own instead of editing the alert's message."""
    return DigestPipeline(
        store,
        AwsAlertReads(aws, targets),
        digest_payload,
        identity=ClusterIdentity(targets),
        clock=clock,
        config_watches=config_watches,
        policy=policy,
        metrics_delay=metrics_delay,
        detail_budget_seconds=detail_budget_seconds,
        messages=AlertMessageView() if in_place else None,
    )


@dataclass
class Runtime:
    """What a process that answers Slack or posts digests holds: built once by `build`."""

    settings: Settings
    aws: AwsClients
    targets: Targets
    store: Store
    queries: QueryService
    log_exports: LogExportService
    clusters: ClusterService
    watches: WatchService
    audit_log: AuditLog
    clock: Clock

    @classmethod
    def build(
        cls, settings: Settings, *, aws: AwsClients | None = None, clock: Clock = utc_now
    ) -> Runtime:
        """`aws`: clients built already (the tests' and the demo's, on an emulator)."""
        if aws is None:
            aws, targets = aws_clients(settings)
        else:
            targets = Targets(settings.targets, aws.settings)
        store = Store.open(settings.database_url)
        queries = _queries(settings, aws, targets, clock)
        return cls(
            settings=settings,
            aws=aws,
            targets=targets,
            store=store,
            queries=queries,
            log_exports=LogExportService(aws, targets=targets, changed=queries.forget),
            clusters=ClusterService(targets, clock),
            watches=WatchService(
                store,
                settings.watches,
                clock,
                identity=ClusterIdentity(targets),
                policy=settings.access,
                farewell=unwatched_digest,
                messages=AlertMessageView(),
            ),
            audit_log=AuditLog(store),
            clock=clock,
        )

    def digest_runner(self) -> DigestPipeline:
        return digest_pipeline(
            self.aws,
            self.store,
            self.settings.watches,
            metrics_delay=self.settings.metrics_delay,
            clock=self.clock,
            targets=self.targets,
            policy=self.settings.access,
        )

    def deliverer(self, client: WebClient | None = None) -> Deliverer:
        """Posting the outbox; by default with the client for answers (the demo's, the tests')."""
        return Deliverer(
            self.store, client or web_client(self.settings), self.clock, draw_chart=digest_png
        )


# Slack: the Bolt app and the web process ------------------------------------------------------


def build_app(runtime: Runtime, *, socket_mode: bool = False) -> App:
    """The Bolt app with every listener (handlers.register), for Socket Mode (`iamauth run`) and
    HTTP (`iamauth web`). ConfigError when a token it needs is missing."""
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
    app = bolt_app(client, settings.slack_signing_secret or "")
    if not settings.access.enforced:
        log.warning(
            "access control is off: anyone may change watches; set [access] in IAMAUTH_CONFIG"
        )
    handlers.register(
        app,
        handlers.Deps(
            queries=runtime.queries,
            log_exports=runtime.log_exports,
            clusters=runtime.clusters,
            watches=runtime.watches,
            audit_log=runtime.audit_log,
            policy=settings.access,
            groups=UserGroups(client),
            max_window=settings.max_window,
            clock=runtime.clock,
            jobs=ThreadPoolExecutor(max_workers=JOB_THREADS, thread_name_prefix="iamauth-job"),
            slack=client,
            user_limits=UserRateLimiter(settings.user_rate),
            home=HomeService(
                runtime.watches,
                runtime.store,
                runtime.aws,
                runtime.targets,
                settings.access,
                runtime.clock,
            ),
        ),
    )
    return app


def wsgi_app(app: App, runtime: Runtime) -> WSGIApplication:
    """The web process's WSGI application: Bolt behind the request guard, /healthz, /metrics."""
    settings = runtime.settings
    if not settings.slack_signing_secret:
        raise ConfigError("SLACK_SIGNING_SECRET is not set: HTTP requests cannot be verified.")
    try:
        limits = web_limits()
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return wsgi_routes(
        app,
        signing_secret=settings.slack_signing_secret,
        limits=limits,
        health=lambda: health(runtime.store, runtime.clock, settings.tick_seconds),
    )


def create_wsgi_app() -> WSGIApplication:
    """For gunicorn: `gunicorn 'bot.bootstrap:create_wsgi_app()'` (the Procfile, `iamauth web`)."""
    configure_logging(json_default=True)
    runtime = Runtime.build(load_settings())
    return wsgi_app(build_app(runtime), runtime)


# The digest job ---------------------------------------------------------------------------------


def digest_job(
    runtime: Runtime, lock: LeaderLock, env: Mapping[str, str] | None = None
) -> DigestJob:
    """The job of `iamauth clock` and `iamauth run`: digests posted with the delivery client (no
    blind retries), retried up to IAMAUTH_OUTBOX_MAX_AGE, under a lease of lease_ttl()."""
    env = os.environ if env is None else env
    deliverer = Deliverer(
        runtime.store,
        delivery_client(runtime.settings),
        runtime.clock,
        tick=timedelta(seconds=runtime.settings.tick_seconds),
        max_age=max_age_from(env),
        draw_chart=digest_png,
    )
    return DigestJob(runtime.digest_runner(), deliverer, lock, default_lease(deliverer, env))


def leader_digest_job(runtime: Runtime) -> DigestJob:
    """The tick job, with its leader lock; SQLite refuses a second scheduler here
    (AlreadyRunning)."""
    lock = leader_lock_for(runtime.store.engine)
    claim_or_refuse(lock, runtime.store.engine)
    return digest_job(runtime, lock)


# The terminal commands: only what each needs (no store for `failures`, no AWS for `audit`) ------


def terminal_queries(settings: Settings) -> QueryService:
    """`iamauth failures` and `iamauth metrics`."""
    aws, targets = aws_clients(settings)
    return _queries(settings, aws, targets, utc_now)


def terminal_clusters(settings: Settings) -> ClusterService:
    """`iamauth clusters`: each place's clients only, so a place that cannot be reached is one
    problem line among the others' clusters."""
    return ClusterService(Targets(settings.targets, settings.aws), utc_now)


def terminal_audit_log(settings: Settings) -> AuditLog:
    """`iamauth audit`."""
    return AuditLog(Store.open(settings.database_url))


def doctor_checks(settings: Settings) -> list[Check]:
    """`iamauth doctor`: the clients are built here too, and a failure to build them is a check."""
    slack = web_client(settings) if settings.slack_bot_token else None
    try:
        aws: AwsClients | AwsError = AwsClients(settings.aws)
    except AwsError as error:  # reported as a check, beside the Slack ones
        aws = error
    return run_checks(aws, slack, settings.targets)
