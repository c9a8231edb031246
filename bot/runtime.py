"""Everything a process needs, built once from the settings: AWS clients, the store, the services."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient

from bot.aws.clients import AwsClients
from bot.aws.targets import Targets
from bot.config import Settings
from bot.digest import DigestRunner
from bot.service import Clock, IamAuthService, utc_now
from bot.slack.deliver import Deliverer
from bot.store.db import make_engine, migrate
from bot.store.repo import Store
from bot.watching import WatchService


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
        aws = aws or AwsClients(settings.aws)
        engine = make_engine(settings.database_url)
        migrate(engine)
        store = Store(engine)
        return cls(
            settings=settings,
            aws=aws,
            store=store,
            service=IamAuthService(
                aws,
                event_cap=settings.event_cap,
                clock=clock,
                cache_seconds=settings.cache_seconds,
                targets=Targets(settings.targets, aws.settings),
            ),
            watching=WatchService(store, settings.watches, clock),
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
        )

    def deliverer(self, client: WebClient) -> Deliverer:
        return Deliverer(self.store, client, self.clock)
