"""Shared fixtures: moto's server over real HTTP, the Slack stand-in, and the real Bolt app."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.adapters.aws.clients import AwsClients, AwsSettings
from bot.bootstrap import Runtime, build_app, wsgi_app
from bot.config import Settings
from bot.sandbox.aws_emulator import REGION, embedded_aws, reset
from bot.sandbox.local_server import LocalServer
from bot.sandbox.slack_signing import signed_headers, slash_command_body
from bot.sandbox.slack_standin import Recorded, SlackStandIn


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto in server mode on a free local port; clients reach it over HTTP like real AWS."""
    with embedded_aws() as endpoint:
        yield endpoint


@pytest.fixture
def aws(moto_endpoint: str) -> AwsClients:
    """Clients on a freshly emptied emulator."""
    reset(moto_endpoint)
    return AwsClients(AwsSettings(region=REGION, endpoint_url=moto_endpoint))


@pytest.fixture
def now() -> datetime:
    """The tests' clock: real time (moto drops log events far from it), at a whole minute."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as stand_in:
        yield stand_in


@dataclass
class Reply:
    status: int
    ack: dict[str, object] | None
    ack_seconds: float
    response: Recorded | None


@dataclass
class BotUnderTest:
    url: str
    secret: str
    slack: SlackStandIn
    runtime: Runtime
    _n: int = 0

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        request = urllib.request.Request(
            f"{self.url}/slack/events", data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def command(self, text: str, *, expect_reply: bool = True, **fields: str) -> Reply:
        """Send `/iamauth <text>` signed, as Slack does; return the ack and the reply."""
        self._n += 1
        name = f"r{self._n}"
        body = slash_command_body(text, self.slack.response_url(name), **fields)
        started = time.monotonic()
        status, raw = self.post(body, signed_headers(self.secret, body))
        ack_seconds = time.monotonic() - started
        ack = json.loads(raw) if raw.strip() else None
        response = None
        if expect_reply:
            response = self.slack.wait_for(lambda r: r.path == f"/response/{name}", timeout=30)
        return Reply(status, ack, ack_seconds, response)


@pytest.fixture
def clock(now: datetime) -> Callable[[], datetime]:
    """The time every part of the bot under test sees; tests move it with `clock.now = …`."""

    class Clock:
        def __init__(self) -> None:
            self.now = now

        def __call__(self) -> datetime:
            return self.now

    return Clock()


@pytest.fixture
def settings(aws: AwsClients, slack: SlackStandIn, tmp_path: Path) -> Settings:
    return Settings(
        slack_bot_token="xoxb-test",
        slack_signing_secret=secrets.token_hex(16),
        slack_api_url=slack.api_url,
        aws=aws.settings,
        database_url=f"sqlite:///{tmp_path}/iamauth.db",
    )


@pytest.fixture
def runtime(settings: Settings, aws: AwsClients, clock: Callable[[], datetime]) -> Runtime:
    return Runtime.build(settings, aws=aws, clock=clock)


@pytest.fixture
def bot(runtime: Runtime, slack: SlackStandIn) -> Iterator[BotUnderTest]:
    app = build_app(runtime)
    assert runtime.settings.slack_signing_secret
    with LocalServer(wsgi_app(app, runtime)) as server:
        yield BotUnderTest(server.url, runtime.settings.slack_signing_secret, slack, runtime)


def run_iamauth(
    env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` in a new process, as a person or a scheduler would run it."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
