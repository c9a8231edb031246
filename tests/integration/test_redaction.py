"""At IAMAUTH_LOG_LEVEL=DEBUG a real process logs every botocore line, yet no credential it holds or
receives: its own AWS keys and session token, the assumed role's keys (read here off the wire), the
external id, the Slack token."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import boto3
import pytest

from benchmarks.aws_proxy import Answer, ForwardingProxy, _api_name
from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.credential_redaction import guard_session
from bot.adapters.aws.targets import Targets, TargetSpec
from bot.ops import redact
from bot.sandbox.seed_aws import create_cluster
from bot.sandbox.slack_standin import SlackStandIn
from tests.conftest import run_iamauth
from tests.integration.digest_helpers import INVALID, put_per_minute

ROLE = "arn:aws:iam::111111111111:role/iamauth-read"
CLUSTER = "111111111111/us-east-1/prod-db"


class RecordingProxy(ForwardingProxy):
    """Forwards every request to moto and keeps (API name, response body) of each call."""

    timeout = 60.0

    def __init__(self, upstream: str) -> None:
        self.calls: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        super().__init__(upstream)

    def answer(self, method: str, path: str, headers: Any, body: bytes) -> Answer:
        status, payload, reply = self.forward(method, path, headers, body)
        with self._lock:
            self.calls.append((_api_name(path, headers, body), payload))
        return status, payload, reply

    def assumed_role_secrets(self) -> list[str]:
        """SecretAccessKey and SessionToken of every AssumeRole answer the process received."""
        found = []
        for action, payload in self.calls:
            if action == "AssumeRole":
                for element in ElementTree.fromstring(payload).iter():  # noqa: S314 - moto
                    if element.tag.endswith(("}SecretAccessKey", "}SessionToken")) and element.text:
                        found.append(element.text)
        return found


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[RecordingProxy]:
    recording = RecordingProxy(moto_endpoint)
    yield recording
    recording.stop()


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_no_credential_reaches_debug_logs(
    aws: AwsClients,
    proxy: RecordingProxy,
    slack: SlackStandIn,
    tmp_path: Path,
    log_format: str,
) -> None:
    external_id = "ext-" + secrets.token_urlsafe(12)
    # A watch on a cluster of the role's account that fires: the tick assumes the role, reads
    # metrics with the role's keys and posts to Slack.
    targets = Targets((TargetSpec("prod", ("us-east-1",), ROLE, external_id),), aws.settings)
    role_clients = targets.clients(targets.places()[0])
    create_cluster(role_clients.rds(), "prod-db", iam=True, exports=[], instances=1)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    put_per_minute(role_clients, "prod-db", INVALID, now, {m: 4.0 for m in range(-20, 5)})
    config = tmp_path / "iamauth.toml"
    config.write_text(
        f'[scheduler]\nmetrics_delay = "1m"\n\n'
        f'[[target]]\nname = "prod"\nregions = ["us-east-1"]\nrole_arn = "{ROLE}"\n'
        f'external_id = "{external_id}"\n\n'
        f'[[watch]]\ncluster = "{CLUSTER}"\nchannel = "C0ALERTS01"\n'
        'invalid_token = { count = 5, window = "5m" }\n'
    )
    held = {
        "AWS_ACCESS_KEY_ID": "AKIA" + secrets.token_hex(8).upper(),
        "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(30),
        "AWS_SESSION_TOKEN": secrets.token_urlsafe(120),
        "SLACK_BOT_TOKEN": "xoxb-" + secrets.token_urlsafe(24),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLACK_", "IAMAUTH_"))}
    env |= held | {
        "AWS_ENDPOINT_URL": proxy.url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": f"sqlite:///{tmp_path}/iamauth.db",
        "IAMAUTH_CONFIG": str(config),
        "IAMAUTH_LOG_LEVEL": "DEBUG",
        "IAMAUTH_LOG_FORMAT": log_format,
    }

    result = run_iamauth(env, "clock", "--once")

    assert result.returncode == 0, result.stderr[-3000:]
    assert len(slack.posted("C0ALERTS01")) == 1  # the run did its work…
    received = proxy.assumed_role_secrets()
    assert len(received) == 2, proxy.calls  # …assumed the role once…
    assert any(action == "GetMetricData" for action, _ in proxy.calls)
    output = result.stdout + result.stderr
    # …and logged botocore's requests, the AssumeRole answer included.
    assert "botocore.endpoint" in output
    assert "AssumeRoleResponse" in output
    assert "[redacted]" in output
    for name, value in held.items():
        if name != "AWS_ACCESS_KEY_ID":  # an id, not a secret (still redacted, by its shape)
            assert value not in output, f"{name} was logged"
    for value in received:
        assert value not in output, "the assumed role's credentials were logged"
    assert external_id not in output, "the external id was logged"


def test_assume_role_answers_are_known_before_botocore_parses_them(aws: AwsClients) -> None:
    """Known before the parser runs, so before it logs the body, whatever the log patterns."""
    session = boto3.session.Session(region_name="us-east-1")
    guard_session(session)
    known_at_parse: list[bool] = []

    def check(response_dict: dict[str, Any], **_: Any) -> None:
        values = redact.credential_values(response_dict["body"].decode())
        known_at_parse.extend(redact.redact(f"<{v}>") == f"<{redact.REDACTED}>" for v in values)

    session.events.register("before-parse.sts", check)  # after guard_session's handler
    sts = session.client("sts", endpoint_url=aws.settings.endpoint_url)
    answer = sts.assume_role(RoleArn=ROLE, RoleSessionName="iamauth")["Credentials"]
    assert known_at_parse == [True, True]
    plain = f"{answer['SecretAccessKey']} {answer['SessionToken']}"
    assert redact.redact(plain) == f"{redact.REDACTED} {redact.REDACTED}"


def test_a_targets_refreshed_credentials_are_known(aws: AwsClients) -> None:
    targets = Targets((TargetSpec("prod", ("us-east-1",), ROLE, "ext-id-0123"),), aws.settings)
    clients = targets.clients(targets.places()[0])
    assert clients.sts().get_caller_identity()["Account"] == "111111111111"
    credentials = clients._session.get_credentials()
    assert credentials is not None
    frozen = credentials.get_frozen_credentials()
    plain = f"{frozen.secret_key} {frozen.token} ext-id-0123"
    assert redact.redact(plain) == " ".join([redact.REDACTED] * 3)
