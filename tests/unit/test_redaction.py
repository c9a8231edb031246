"""The redactor: field patterns for credentials never registered, the registry of known ones, and
the registration of what botocore's credentials hold or fetch."""

from __future__ import annotations

import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from botocore.credentials import DeferredRefreshableCredentials

from bot.adapters.aws.clients import AwsClients, AwsSettings
from bot.adapters.aws.credential_redaction import register_credentials
from bot.ops import redact
from bot.ops.redact import REDACTED, credential_values, register_environment, register_secrets

R = REDACTED


def fresh() -> str:
    """A value no test registered, that no pattern matches on its own (hex: no `akia`, no `eyj`)."""
    return secrets.token_hex(16)


def base64ish() -> str:
    """Shaped like an AWS secret key or session token: letters, digits, / + = _ -."""
    return f"{secrets.token_urlsafe(18)}/{secrets.token_urlsafe(18)}+Ab=="


# (where the value sits, what stays in front of it) — each taken from a real log or API answer.
FIELDS = [
    ("b'<Credentials><AccessKeyId>x</AccessKeyId><SecretAccessKey>{v}</SecretAccessKey>'", "<SecretAccessKey>"),
    ("<SessionToken>{v}</SessionToken><Expiration>2025-01-01T00:00:00Z</Expiration>", "<SessionToken>"),
    ('{{"AccessKeyId": "x", "SecretAccessKey": "{v}", "Token": "t"}}', '"SecretAccessKey": "'),
    ('{{"Code": "Success", "Token": "{v}", "Expiration": "2025"}}', '"Token": "'),
    ('{{"roleCredentials":{{"secretAccessKey":"{v}","expiration":1}}}}', '"secretAccessKey":"'),
    ('{{"roleCredentials":{{"sessionToken":"{v}"}}}}', '"sessionToken":"'),
    ("'body': {{'Action': 'AssumeRole', 'ExternalId': '{v}', 'RoleArn': 'arn'}}", "'ExternalId': '"),
    ("Action=AssumeRole&ExternalId={v}&RoleArn=arn", "Action=AssumeRole&ExternalId="),
    ("x-amz-date:20250101T000000Z\nx-amz-security-token:{v}\n\ncontent-type", "x-amz-security-token:"),
    ("headers={{'X-Amz-Date': b'2025', 'X-Amz-Security-Token': b'{v}'}}", "'X-Amz-Security-Token': b'"),
    ("'Authorization': b'AWS4-HMAC-SHA256 Credential={v}, SignedHeaders=host", "AWS4-HMAC-SHA256 "),
    ("StringToSign:\nAWS4-HMAC-SHA256\nSignature:\n{v}", "Signature:\n"),
    ("Authorization: Bearer {v}", "Authorization: Bearer "),
    ('{{\\"SessionToken\\": \\"{v}\\"}}', '{\\"SessionToken\\": \\"'),
    ("ReadOnlyCredentials(access_key='x', secret_key='{v}', token='y')", "secret_key='"),
    ("AWS_SESSION_TOKEN={v} AWS_REGION=us-east-1", "AWS_SESSION_TOKEN="),
    ("https://rds/?X-Amz-Security-Token={v}&X-Amz-Signature=0a1b", "X-Amz-Security-Token="),
    ("'WebIdentityToken': '{v}', 'RoleArn'", "'WebIdentityToken': '"),
    ('{{"MasterUserPassword": "{v}"}}', '"MasterUserPassword": "'),
    ("SLACK_SIGNING_SECRET = {v}", "SLACK_SIGNING_SECRET = "),
]  # fmt: skip


@pytest.mark.parametrize(("template", "kept"), FIELDS)
def test_credential_fields_lose_their_value_and_keep_their_name(template: str, kept: str) -> None:
    value = base64ish()
    text = template.format(v=value)
    out = redact.redact(text)
    assert value not in out
    assert kept + R in out
    assert redact.redact(out) == out  # a second pass changes nothing


SHAPES = [
    ("xoxb-{h}-{h}", ""),
    ("xoxp-1-{h}", ""),
    ("xoxe.xoxp-1-{h}", ""),
    ("xoxe-1-{h}", ""),
    ("xapp-1-A0{h}", ""),
    ("https://hooks.slack.com/services/T0/B0/{h}", "https://hooks.slack.com/services/"),
    ("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ{h}.{h}", ""),
]


@pytest.mark.parametrize(("template", "kept"), SHAPES)
def test_tokens_are_known_by_their_shape(template: str, kept: str) -> None:
    out = redact.redact(f"said {template.format(h=fresh())} then")
    assert out == f"said {kept}{R} then"


def test_passwords_in_urls() -> None:
    password = quote(base64ish(), safe="")  # a URL holds its password percent-encoded
    url = f"postgresql+psycopg://iamauth:{password}@db.internal:5432/iamauth"
    assert redact.redact(f"cannot connect to {url}") == (
        f"cannot connect to postgresql+psycopg://iamauth:{R}@db.internal:5432/iamauth"
    )


def test_access_key_ids_are_known_by_their_shape() -> None:
    assert redact.redact("key AKIAIOSFODNN7EXAMPLE, ASIA1234567890ABCDEF.") == f"key {R}, {R}."


KEPT = [
    "2025-08-11T04:00:05,804 [ERROR] Failed to authenticate the connection request for user 'app'"
    " because the provided token is malformed or otherwise invalid. (Status Code: 400, Error Code:"
    " InvalidToken)",
    '{"events": [], "nextToken": "f/3856/abc", "NextToken": "x"}',
    'FATAL: password authentication failed for user "app"',
    "Calculating signature using v4 auth.",
    "Config(signature_version='v4'), token_verification_enabled=True, tokens: 5",
    "arn:aws:iam::111111111111:role/iamauth-read",
    "headers: {'Authorization': '(redacted)', 'User-Agent': 'Python/3.11'}",
    "StringToSign:\nAWS4-HMAC-SHA256\n20250101T000000Z\n20250101/us-east-1/sts/aws4_request",
    "https://user@example.com/path and http://127.0.0.1:5000/",
]


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact.redact(text) == text


def test_text_whose_lower_case_is_longer_is_still_redacted() -> None:
    value = base64ish()
    assert len("İ".lower()) == 2
    assert redact.redact(f"İstanbul 'SessionToken': '{value}'") == f"İstanbul 'SessionToken': '{R}'"


def test_known_secrets_are_replaced_wherever_they_appear() -> None:
    short, longer, odd = fresh(), fresh(), "a+b.c*d(e)[f]|" + fresh()
    register_secrets([short, short + longer, odd])
    out = redact.redact(f"x{short + longer}y {short}. {odd}")
    assert out == f"x{R}y {R}. {R}"  # the longer one whole, metacharacters taken literally


def test_values_too_short_to_be_secrets_are_not_registered() -> None:
    register_secrets(["abc1234", None, ""])
    assert redact.redact("abc1234") == "abc1234"


def test_a_refreshed_source_keeps_only_its_latest_sets() -> None:
    source = object()
    issued = [fresh() for _ in range(redact.GENERATIONS + 2)]
    for value in issued:
        register_secrets([value], source=source)
    assert [redact.redact(v) == R for v in issued] == [False, False] + [True] * redact.GENERATIONS


def test_the_environment_and_the_database_password() -> None:
    password, token, signing = "p@ss:/" + fresh(), base64ish(), fresh()
    register_environment(
        {
            "DATABASE_URL": f"postgresql+psycopg://iamauth:{quote(password, safe='')}@db/iamauth",
            "AWS_SESSION_TOKEN": token,
            "SLACK_SIGNING_SECRET": signing,
            "AWS_REGION": "eu-central-1",
        }
    )
    out = redact.redact(f"{password} {quote(password, safe='')} {token} {signing} eu-central-1")
    assert out == f"{R} {R} {R} {R} eu-central-1"


def test_credential_values_reads_what_an_answer_holds() -> None:
    sts = (
        "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIA1234567890ABCDEF"
        "</AccessKeyId><SecretAccessKey>a/b+c=</SecretAccessKey><SessionToken>FQoG+t/k==</SessionToken>"
        "<Expiration>2025-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult>"
    )
    assert credential_values(sts) == ["a/b+c=", "FQoG+t/k=="]
    sso = '{"roleCredentials":{"accessKeyId":"ASIA1","secretAccessKey":"s3cr3t","sessionToken":"t0k"}}'
    assert credential_values(sso) == ["s3cr3t", "t0k"]


def test_secrets_registered_from_many_threads_are_all_known() -> None:
    batches = [[fresh() for _ in range(6)] for _ in range(8)]

    def register_and_check(batch: list[str]) -> bool:
        known = True
        for value in batch:
            register_secrets([value])
            known &= redact.redact(f"<{value}>") == f"<{R}>"  # at once, despite other rebuilds
        return known

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(register_and_check, batches))
    assert all(redact.redact(v) == R for batch in batches for v in batch)


def test_records_are_redacted_as_they_are_created(caplog: pytest.LogCaptureFixture) -> None:
    redact.install()
    secret = fresh()
    register_secrets([secret])
    logger = logging.getLogger("tests.redaction")
    with caplog.at_level(logging.DEBUG, logger="tests.redaction"):
        logger.debug("argument %s", secret)
        try:
            raise RuntimeError(f"boom {secret}")
        except RuntimeError:
            logger.exception("failed")
    assert "argument [redacted]" in caplog.text
    assert "RuntimeError: boom [redacted]" in caplog.text
    assert secret not in caplog.text


def test_each_refresh_is_registered_before_it_is_used() -> None:
    issued: list[str] = []

    def fetch() -> dict[str, Any]:
        issued.extend([fresh(), base64ish()])
        # Expires within botocore's mandatory window: the next use refreshes again.
        expiry = datetime.now(UTC) + timedelta(minutes=5)
        return {"access_key": "x", "secret_key": issued[-2], "token": issued[-1],
                "expiry_time": expiry.isoformat()}  # fmt: skip

    credentials = DeferredRefreshableCredentials(refresh_using=fetch, method="test")
    register_credentials(credentials)
    assert issued == []  # registering fetches nothing
    credentials.get_frozen_credentials()
    credentials.get_frozen_credentials()
    assert len(issued) == 4
    assert all(redact.redact(value) == R for value in issued)


def test_credentials_read_from_a_shared_file_are_registered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret, token = fresh(), base64ish()
    path = tmp_path / "credentials"
    path.write_text(
        f"[ops]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = {secret}\n"
        f"aws_session_token = {token}\n"
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    clients = AwsClients(AwsSettings(region="us-east-1", profile="ops"))
    clients.rds()  # makes the client, calls nothing
    assert redact.redact(f"{secret} {token}") == f"{R} {R}"
