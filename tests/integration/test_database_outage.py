"""The database down for real: PostgreSQL reached through a TCP proxy the test cuts and restores.
Every command that needs the database says plainly that it cannot be reached and that nothing was
changed; their audit entries are held and reach the audit table once it is back."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from bot.adapters.aws.clients import AwsClients
from bot.adapters.store.db import make_engine, normalise_url
from bot.adapters.store.models import Base
from bot.bootstrap import Runtime
from bot.config import Settings
from bot.sandbox.slack_standin import SlackStandIn
from bot.views.digest import SILENCE_ACTION
from tests.conftest import BotUnderTest
from tests.integration.tcp_proxy import TcpProxy, tcp_proxy
from tests.integration.test_audited_changes import audit_rows, click_silence, said
from tests.integration.test_slash_commands import all_text
from tests.integration.test_watch_commands import serving

PG_URL = os.environ.get("IAMAUTH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
UNREACHABLE = "iamauth's database cannot be reached right now; nothing was changed."


@pytest.fixture
def engine() -> Iterator[Engine]:
    """The test database, emptied, reached directly: what the test checks, whatever the proxy."""
    engine = make_engine(PG_URL)
    with engine.begin() as connection:
        for table in [*(t.name for t in reversed(Base.metadata.sorted_tables)), "alembic_version"]:
            connection.execute(text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    yield engine
    engine.dispose()


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    url = make_url(normalise_url(PG_URL))
    with tcp_proxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        yield proxy


@pytest.fixture
def bot(
    engine: Engine,
    proxy: TcpProxy,
    settings: Settings,
    aws: AwsClients,
    clock: Callable[[], datetime],
    slack: SlackStandIn,
) -> Iterator[BotUnderTest]:
    """The bot, its database reached only through the proxy."""
    through = make_url(normalise_url(PG_URL)).set(host="127.0.0.1", port=proxy.port)
    database_url = through.render_as_string(hide_password=False)
    runtime = Runtime.build(replace(settings, database_url=database_url), aws=aws, clock=clock)
    with serving(runtime, slack) as bot:
        yield bot
    runtime.store.engine.dispose()


def rows(engine: Engine, query: str) -> list[tuple[str, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(query))]


def test_commands_while_the_database_is_down_say_so_and_are_audited_once_it_is_back(
    bot: BotUnderTest, proxy: TcpProxy, engine: Engine
) -> None:
    assert "Now watching" in said(bot, "watch orders-db")
    assert "silenced until" in said(bot, "silence orders-db 2h")
    before = audit_rows(engine)
    watches, silences = "SELECT cluster FROM watches", "SELECT cluster FROM silences"

    proxy.cut()
    commands = [
        "watch prod-db",
        "unwatch orders-db",
        "silence prod-db 1h deploy",
        "unsilence orders-db",
        "watches",
        "audit 5",
    ]
    for command in commands:
        reply = said(bot, command)
        assert UNREACHABLE in reply, command
        assert "Something went wrong" not in reply
    clicked = click_silence(bot, "prod-db", "b1")
    assert UNREACHABLE in all_text(clicked)
    assert clicked["response_type"] == "ephemeral"
    # Nothing changed, and no audit entry went in: they are held.
    assert rows(engine, watches) == [("orders-db",)]
    assert rows(engine, silences) == [("orders-db",)]
    assert audit_rows(engine) == before
    assert len(bot.runtime.store.held_audit) == len(commands) + 1

    proxy.restore()
    assert "`orders-db`" in said(bot, "watches")
    held = [(f"/iamauth {c}", "error") for c in commands] + [
        (f"button {SILENCE_ACTION} prod-db", "error")
    ]
    assert audit_rows(engine) == [*before, *held, ("/iamauth watches", "allowed")]
    details = rows(engine, "SELECT detail FROM audit_log WHERE outcome = 'error'")
    assert all(detail.startswith(UNREACHABLE) for (detail,) in details)
    assert len(bot.runtime.store.held_audit) == 0
    assert "Now watching" in said(bot, "watch prod-db")
