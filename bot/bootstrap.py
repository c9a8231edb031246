"""Everything a process needs, built once from the settings: AWS clients, the store, the services."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient

from bot.adapters.aws.clients import AwsClients
from bot.adapters.slack.outbox_delivery import Deliverer
from bot.adapters.store.repo import Store
from bot.config import Settings
from bot.digest import DigestRunner
from bot.services.cluster_identity import ClusterIdentity
from bot.services.queries import Clock, IamAuthService, utc_now
from bot.services.watches import WatchService


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

    def digest_runner(self) -> DigestRunner:
        return DigestRunner(
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
