"""The one place that builds boto3 clients: retries, timeouts, region, profile and endpoint."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.aws.credential_redaction import guard_session, register_credentials
from bot.adapters.aws.errors import AwsError, aws_error
from bot.adapters.aws.rate_budget import RateBudget
from bot.ops.telemetry import count_aws_calls

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_sts import STSClient


_retries = threading.local()
ACCOUNT_RETRY_SECONDS = 60.0


def _note_retries(parsed: Any = None, **_: Any) -> None:
    attempts = (parsed or {}).get("ResponseMetadata", {}).get("RetryAttempts", 0)
    if attempts:
        _retries.count = getattr(_retries, "count", 0) + attempts


def retries_in_this_thread(reset: bool = False) -> int:
    """AWS calls retried (throttling, 5xx) by this thread since the last reset."""
    count = int(getattr(_retries, "count", 0))
    if reset:
        _retries.count = 0
    return count


@dataclass(frozen=True)
class AwsSettings:
    region: str | None = None
    profile: str | None = None
    # boto3 also reads AWS_ENDPOINT_URL by itself; passing it explicitly keeps tests and the demo
    # independent of the installed boto3's support for that variable.
    endpoint_url: str | None = None
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    max_attempts: int = 5
    retry_mode: str = "adaptive"
    # Concurrent calls per (account, region) and service: more wait for a free connection, so a
    # burst of commands cannot flood one account's API limits.
    max_connections: int = 10
    # The (account, region) budget of log reads every logs client waits for (rate_budget.py);
    # carried into each place's settings by Targets. None: unlimited (the tests' clients, doctor).
    budget: RateBudget | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_env(cls, **overrides: Any) -> AwsSettings:
        values: dict[str, Any] = {
            "region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
            "profile": os.environ.get("AWS_PROFILE"),
            "endpoint_url": os.environ.get("AWS_ENDPOINT_URL"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class AwsClients:
    """Clients built once per process and shared by threads (boto3 clients are thread-safe)."""

    def __init__(self, settings: AwsSettings, session: boto3.session.Session | None = None) -> None:
        self.settings = settings
        try:
            self._session = session or boto3.session.Session(
                profile_name=settings.profile, region_name=settings.region
            )
        except BotoCoreError as error:  # an unknown profile, an unreadable AWS config file
            raise aws_error(error, "AWS", "the AWS session") from None
        guard_session(self._session)  # before any client exists: clients copy its handlers
        self._config = Config(
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            retries={"mode": settings.retry_mode, "max_attempts": settings.max_attempts},  # type: ignore[arg-type]
            user_agent_extra="iamauth",
            max_pool_connections=settings.max_connections,
        )
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._account: str | None = None
        self._account_retry_at = 0.0

    @property
    def region(self) -> str | None:
        return self._session.region_name

    def _client(self, service: str) -> Any:
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                try:
                    client = self._session.client(
                        service,  # type: ignore[call-overload]
                        config=self._config,
                        endpoint_url=self.settings.endpoint_url,
                    )
                except (BotoCoreError, ValueError) as error:  # no region, partial keys, bad URL
                    raise aws_error(error, service, f"the {service} client") from None
                client.meta.events.register("after-call", _note_retries)
                if service == "logs" and self.settings.budget is not None:
                    self.settings.budget.register(client.meta.events, self.place)
                count_aws_calls(client.meta.events)
                # Resolved by now (whichever provider), and nothing signed with them yet.
                register_credentials(self._session.get_credentials())
                self._clients[service] = client
            return client

    def place(self) -> str:
        """`account/region` of these clients, the key of their AWS quotas; the account is asked
        of STS once (GetCallerIdentity needs no permission)."""
        region = self.region or "default"
        if self._account is None:
            if time.monotonic() < self._account_retry_at:
                return f"unknown-account/{region}"
            try:
                self._account = str(self.sts().get_caller_identity()["Account"])
            except (ClientError, BotoCoreError, AwsError):
                # Not asked again for a minute: an unreachable STS must not slow every call.
                self._account_retry_at = time.monotonic() + ACCOUNT_RETRY_SECONDS
                return f"unknown-account/{region}"
        return f"{self._account}/{region}"

    def logs(self) -> CloudWatchLogsClient:
        client: CloudWatchLogsClient = self._client("logs")
        return client

    def cloudwatch(self) -> CloudWatchClient:
        client: CloudWatchClient = self._client("cloudwatch")
        return client

    def rds(self) -> RDSClient:
        client: RDSClient = self._client("rds")
        return client

    def ec2(self) -> EC2Client:
        client: EC2Client = self._client("ec2")
        return client

    def sts(self) -> STSClient:
        client: STSClient = self._client("sts")
        return client

    def iam(self) -> Any:
        """IAM, for optional reads only (iam:SimulatePrincipalPolicy, iam:GetRole)."""
        return self._client("iam")
