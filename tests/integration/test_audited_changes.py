"""A change and its audit entry are stored together or not at all, on PostgreSQL, which refuses
NUL in text: the finding was a channel label holding NUL whose watch was saved while its audit
entry was lost."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import Engine, text

from bot.adapters.aws.clients import AwsClients
from bot.adapters.store.db import make_engine
from bot.adapters.store.models import Base
from bot.bootstrap import Runtime, build_app, wsgi_app
from bot.config import Settings
from bot.domain.address import Address
from bot.sandbox.local_server import LocalServer
from bot.sandbox.slack_signing import block_actions_body, signed_headers
from bot.sandbox.slack_standin import SlackStandIn
from bot.views.digest import SILENCE_ACTION
from tests.conftest import BotUnderTest
from tests.integration.test_slash_commands import all_text

PG_URL = os.environ.get("IAMAUTH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
NOTHING_CHANGED = "Nothing was changed: it could not be stored with its audit entry"
REFUSE_AUDIT = """
CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log refuses writes (test)'; END $$;
CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit();
"""


@pytest.fixture
def engine() -> Iterator[Engine]:
    """The test database emptied: every table the models define, Alembic's, the test trigger."""
    engine = make_engine(PG_URL)
    with engine.begin() as connection:
        for table in [*(t.name for t in reversed(Base.metadata.sorted_tables)), "alembic_version"]:
            connection.execute(text(f"DROP TABLE IF EXISTS {table} CASCADE"))
        connection.execute(text("DROP FUNCTION IF EXISTS refuse_audit() CASCADE"))
    yield engine
    engine.dispose()


@pytest.fixture
def pg_bot(
    engine: Engine,
    settings: Settings,
    aws: AwsClients,
    clock: Callable[[], datetime],
    slack: SlackStandIn,
) -> Iterator[BotUnderTest]:
    runtime = Runtime.build(replace(settings, database_url=PG_URL), aws=aws, clock=clock)
    assert runtime.settings.slack_signing_secret
    with LocalServer(wsgi_app(build_app(runtime), runtime)) as server:
        yield BotUnderTest(server.url, runtime.settings.slack_signing_secret, slack, runtime)
    runtime.store.engine.dispose()


def said(bot: BotUnderTest, command: str) -> str:
    reply = bot.command(command)
    if reply.response is None:
        assert reply.ack is not None
        return all_text(reply.ack)
    return all_text(reply.response.body)


def click_silence(bot: BotUnderTest, value: str, name: str) -> dict[str, object]:
    body = block_actions_body(SILENCE_ACTION, value, bot.slack.response_url(name))
    assert bot.post(body, signed_headers(bot.secret, body))[0] == 200
    return bot.slack.wait_for(lambda r: r.path == f"/response/{name}").body


def audit_rows(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT action, outcome FROM audit_log ORDER BY id"))
        return [(row.action, row.outcome) for row in rows]


def test_text_holding_nul_is_audited_with_its_change(pg_bot: BotUnderTest, engine: Engine) -> None:
    store, now = pg_bot.runtime.store, pg_bot.runtime.clock()
    assert "Now watching" in said(pg_bot, "watch prod-db <#C0SEC00001|se\x00c>")
    assert "silenced until" in said(pg_bot, "silence prod-db 1h dep\x00loy")
    assert "not an RDS cluster identifier" in all_text(click_silence(pg_bot, "prod\x00db", "b1"))
    assert [w.channel for w in store.list_watches()] == ["C0SEC00001"]
    assert store.active_silences(now)[Address("prod-db")].reason == "dep\ufffdloy"
    assert audit_rows(engine) == [
        ("/iamauth watch prod-db <#C0SEC00001|se\ufffdc>", "allowed"),
        ("/iamauth silence prod-db 1h dep\ufffdloy", "allowed"),
        (f"button {SILENCE_ACTION} prod\ufffddb", "invalid"),
    ]


def test_a_change_whose_audit_entry_cannot_be_stored_is_not_made(
    pg_bot: BotUnderTest, engine: Engine
) -> None:
    store, now = pg_bot.runtime.store, pg_bot.runtime.clock()
    said(pg_bot, "watch orders-db")
    said(pg_bot, "silence orders-db 2h")
    before = audit_rows(engine)
    with engine.begin() as connection:
        connection.execute(text(REFUSE_AUDIT))

    for command in (
        "watch prod-db",
        "unwatch orders-db",
        "silence prod-db 1h deploy",
        "unsilence orders-db",
    ):
        assert NOTHING_CHANGED in said(pg_bot, command), command
    clicked = click_silence(pg_bot, "prod-db", "b1")
    assert NOTHING_CHANGED in all_text(clicked)
    assert clicked["response_type"] == "ephemeral"
    assert [str(w.cluster) for w in store.list_watches()] == ["orders-db"]
    assert set(map(str, store.active_silences(now))) == {"orders-db"}
    assert audit_rows(engine) == before

    with engine.begin() as connection:
        connection.execute(text("DROP FUNCTION refuse_audit() CASCADE"))
    assert "Now watching" in said(pg_bot, "watch prod-db")
    assert audit_rows(engine)[-1] == ("/iamauth watch prod-db", "allowed")
