from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.aws.rds import ClusterInfo
from bot.domain.metrics import METRIC_NAMES, MetricsReport, Series
from bot.domain.records import AuthFailure
from bot.domain.summary import FailureSummary
from bot.domain.window import Window
from bot.service import FailuresReport
from bot.slack.mrkdwn import code, escape
from bot.slack.render import MAX_BLOCKS, MAX_SECTION_TEXT, failures_message, metrics_message

T0 = datetime(2025, 8, 11, 3, 0, tzinfo=UTC)
WINDOW = Window(T0, T0 + timedelta(hours=1))
CLUSTER = ClusterInfo(
    "prod-db", "aurora-postgresql", "available", True, ("iam-db-auth-error",), ("prod-db-1",)
)
HOSTILE = [
    "<!channel>",
    "<!here|here>",
    "<@U12345>",
    "<#C12345|ops>",
    "<https://evil.example|click>",
    "<!subteam^S1>",
]


def metrics() -> MetricsReport:
    series = {m: Series((T0,), (3.0,)) for m in METRIC_NAMES}
    return MetricsReport("prod-db", WINDOW.start, WINDOW.end, 60, "DBClusterIdentifier", (), series)


def report_for(users: list[str], codes: list[str] | None = None) -> dict[str, Any]:
    summary = FailureSummary()
    for i, user in enumerate(users):
        error_code = (codes or ["InvalidToken"])[i % len(codes or ["InvalidToken"])]
        record = AuthFailure(
            T0 + timedelta(seconds=i), "ERROR", user, "reason", 400, error_code, None
        )
        summary.add(record, raw=f"line for user '{user}'")
    return failures_message(FailuresReport(CLUSTER, WINDOW, summary, True, metrics())).to_dict()


def texts(message: dict[str, Any]) -> list[str]:
    out = [message["text"]]
    for block in message["blocks"]:
        if "text" in block:
            out.append(block["text"]["text"])
        out.extend(e.get("text", "") for e in block.get("elements", []))
    return out


def test_escape_only_touches_the_three_control_characters() -> None:
    assert escape("a & <b> *c* _d_") == "a &amp; &lt;b&gt; *c* _d_"


def test_code_keeps_names_from_restyling_the_message() -> None:
    assert code("*bold* `tick` _x_") == "`*bold* ˋtickˋ _x_`"
    assert code("a\nb") == "`a b`"
    assert code("   ") == "_(blank)_"
    assert code("x" * 100, 10) == "`xxxxxxxxx…`"


def test_hostile_user_names_never_become_live_mentions_or_links() -> None:
    message = report_for(HOSTILE)
    for text in texts(message):
        assert "<" not in text, text
    # The names are still shown, escaped, so a person can see what was sent.
    assert "&lt;!channel&gt;" in json.dumps(message)


def test_hint_placeholders_are_escaped() -> None:
    message = report_for(["app"], ["NotAuthorized"])
    joined = "\n".join(texts(message))
    assert "&lt;region&gt;" in joined


def test_a_huge_report_stays_within_block_kit_limits() -> None:
    users = [f"user-{i}-" + "x" * 5000 for i in range(300)]
    message = report_for(users, [f"Code{i}" for i in range(60)])
    assert len(message["blocks"]) <= MAX_BLOCKS
    assert all(len(t) <= MAX_SECTION_TEXT for t in texts(message))
    assert "…and 290 more users" in "\n".join(texts(message))


def test_metrics_message_totals() -> None:
    message = metrics_message(CLUSTER, metrics()).to_dict()
    assert message["text"] == "prod-db: 3 IAM auth requests, 3 failed"
    assert re.search(r"Requests\s+3\s", "\n".join(texts(message)))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=300), min_size=1, max_size=30))
def test_no_rendered_text_ever_contains_a_live_control_sequence(users: list[str]) -> None:
    message = report_for(users)
    assert len(message["blocks"]) <= MAX_BLOCKS
    for text in texts(message):
        assert "<" not in text
        assert ">" not in text
        assert len(text) <= MAX_SECTION_TEXT
