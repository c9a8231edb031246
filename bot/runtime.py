"""Everything a process needs, built once from the settings: AWS clients, the store, the services."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from slack_sdk import WebClient

from bot.aws.clients import AwsClients
from bot.aws.targets import Targets
from bot.cluster_identity import ClusterIdentity
from bot.config import Settings
from bot.domain.access import AccessPolicy
from bot.domain.metrics import METRICS_DELAY
from bot.domain.watches import Watch
from bot.service import Clock, IamAuthService, utc_now
from bot.services.alerting.aws_reads import AwsAlertReads
from bot.services.alerting.enrich import DETAIL_BUDGET_SECONDS
from bot.services.alerting.pipeline import DigestPipeline
from bot.slack.deliver import Deliverer
from bot.slack.render_digest import digest_payload
from bot.store.repo import Store
from bot.watching import WatchService


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
) -> DigestPipeline:
    """The digest tick wired to AWS (through `targets`, else `aws` alone), the store, and the
    Block Kit renderer."""
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
    )


@dataclass
class Runtime:
    settings: Settings
    aws: AwsClients
    store: Store
    service: IamAuthService
    watching: WatchService
    clock: Clock

    @classmethod
    def build(
        cls, settings: Settings, *, aws: AwsClients | None = None, clock: Clock = utc_now
    ) -> Runtime:
        service = IamAuthService.from_settings(settings, aws, clock)
        store = Store.open(settings.database_url)
        return cls(
            settings=settings,
            aws=service.aws,
            store=store,
            service=service,
            watching=WatchService(
                store,
                settings.watches,
                clock,
                identity=ClusterIdentity(service.targets),
                policy=settings.access,
            ),
            clock=clock,
        )

    def digest_runner(self) -> DigestPipeline:
        return digest_pipeline(
            self.aws,
            self.store,
            self.settings.watches,
            metrics_delay=self.settings.metrics_delay,
            clock=self.clock,
            targets=self.service.targets,
            policy=self.settings.access,
        )

    def deliverer(self, client: WebClient) -> Deliverer:
        return Deliverer(self.store, client, self.clock)
