"""The digest's Acknowledge button through the real Bolt app over HTTP: who clicked is stored on
the alert states with its audit entry, shown in the channel, and stops repeats until the alert
escalates or resolves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.adapters.aws.clients import AwsClients
from bot.adapters.slack.web_client import web_client
from bot.adapters.store.models import AlertStateRow
from bot.adapters.store.repo import Store
from bot.bootstrap import digest_pipeline
from bot.domain.address import parse_address
from bot.domain.alerts import AlertState, Status, Threshold
from bot.domain.records import Family
from bot.domain.watches import make_watch
from bot.sandbox.slack_signing import block_actions_body, signed_headers
from bot.views.digest import ACKNOWLEDGE_ACTION
from tests.conftest import BotUnderTest
from tests.integration.digest_helpers import INVALID, put_per_minute
from tests.integration.test_audited_changes import PG_URL
from tests.integration.test_audited_changes import engine as engine  # a fixture
from tests.integration.test_slash_commands import all_text

C1, C2, ALICE = "C0ALERTS01", "C0ALERTS02", "U0ALICE001"


def click(
    bot: BotUnderTest,
    name: str,
    channel: str = C1,
    value: str = "prod-db",
    message: dict[str, Any] | None = None,
) -> Any:
    body = block_actions_body(
        ACKNOWLEDGE_ACTION,
        value,
        bot.slack.response_url(name),
        user_id=ALICE,
        channel_id=channel,
        message=message,  # Slack sends the message the button is in with the click
    )
    assert bot.post(body, signed_headers(bot.secret, body))[0] == 200
    return bot.slack.wait_for(lambda r: r.path == f"/response/{name}").body


def acknowledgements(bot: BotUnderTest) -> list[tuple[str, str | None]]:
    with bot.runtime.store.engine.connect() as connection:
        rows = connection.execute(text("SELECT family, acknowledged_by FROM alert_states"))
        return [(row.family, row.acknowledged_by) for row in rows]


def test_acknowledge_stops_repeats_until_escalation(
    aws: AwsClients, bot: BotUnderTest, now: datetime, clock: Any
) -> None:
    runtime = bot.runtime
    per_minute = (
        {m: 2.0 for m in range(0, 15)}
        | {m: 6.0 for m in range(15, 20)}
        | {m: 0.0 for m in range(20, 40)}
    )
    put_per_minute(aws, "prod-db", INVALID, now, per_minute)
    watch = make_watch(
        parse_address("prod-db"),
        C1,
        [Threshold(Family.INVALID_TOKEN, 10, timedelta(minutes=5))],
        repeat=timedelta(minutes=10),
    )
    runtime.store.save_watch(watch, now)
    runner = digest_pipeline(aws, runtime.store, metrics_delay=timedelta(minutes=3), clock=clock)
    deliverer = runtime.deliverer(web_client(runtime.settings))
    events = []
    for m in range(3, 36):
        clock.now = now + timedelta(minutes=m)
        result = runner.tick(clock.now)
        deliverer.deliver_pending()
        events += [(m, n.kind.value, n.count) for _, n in result.notices]
        if m == 9:
            digest = bot.slack.posted(C1)[0].body
            assert ACKNOWLEDGE_ACTION in str(digest["blocks"])
            # Nothing of prod-db fires for C2: nothing to acknowledge there, and nothing stored.
            assert "nothing to acknowledge" in all_text(click(bot, "elsewhere", channel=C2))
            reply = click(bot, "ack")
            assert reply["response_type"] == "in_channel"
            assert f"<@{ALICE}> acknowledged `prod-db`" in all_text(reply)
            assert acknowledgements(bot) == [(Family.INVALID_TOKEN.value, ALICE)]
            # With the digest in the click, the digest itself shows who is on it.
            shown = click(
                bot, "shown", message={"text": digest["text"], "blocks": digest["blocks"]}
            )
            assert shown["replace_original"] is True
            assert shown["text"] == digest["text"]
            buttons = next(i for i, b in enumerate(shown["blocks"]) if b["type"] == "actions")
            above = shown["blocks"][buttons - 1]
            assert above["type"] == "context"
            assert f"Acknowledged by <@{ALICE}> at" in above["elements"][-1]["text"]
            assert len(shown["blocks"]) == len(digest["blocks"])
        if m == 20:
            assert acknowledgements(bot) == [(Family.INVALID_TOKEN.value, ALICE)]
        if m == 21:  # escalated: the acknowledgement ended with that notice
            assert acknowledgements(bot) == [(Family.INVALID_TOKEN.value, None)]
    # Without the acknowledgement a repeat ("still firing") would have come at minute 18.
    assert events == [(8, "firing", 10), (21, "escalated", 22), (27, "resolved", 6)]
    audit = [(e.action, e.outcome) for e in runtime.store.recent_audit(10)]
    assert audit[::-1] == [(f"button {ACKNOWLEDGE_ACTION} prod-db", "allowed")] * 3


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        store = Store.open(f"sqlite:///{tmp_path}/iamauth.db")
    else:
        request.getfixturevalue("engine")  # the PostgreSQL test database, emptied
        store = Store.open(PG_URL)
    yield store
    store.engine.dispose()


def test_a_tick_that_read_the_states_before_a_click_keeps_it(store: Store, now: datetime) -> None:
    """The tick writes states it read before the click: the acknowledgement stays, until a notice
    after it."""
    watch = make_watch(
        parse_address("prod-db"), C1, [Threshold(Family.INVALID_TOKEN, 10, timedelta(minutes=5))]
    )
    store.save_watch(watch, now)
    key = (watch.key, Family.INVALID_TOKEN)
    firing = AlertState(Status.FIRING, now, now, 10, 10)
    store.commit_tick({key: firing}, [], now)
    assert store.acknowledge([watch.key], ALICE, now + timedelta(minutes=1)) == [
        Family.INVALID_TOKEN
    ]
    store.commit_tick({key: AlertState(Status.FIRING, now, now, 10, 12)}, [], now)
    assert store.alert_states()[key].acknowledged_by == ALICE
    later = now + timedelta(minutes=2)
    store.commit_tick({key: AlertState(Status.FIRING, now, later, 30, 30)}, [], later)
    assert store.alert_states()[key].acknowledged_by is None
    with store.session() as session:
        row = session.get(AlertStateRow, (watch.key, Family.INVALID_TOKEN.value))
        assert row is not None
        assert row.acknowledged_by is None
