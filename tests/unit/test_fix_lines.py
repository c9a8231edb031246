"""Fix lines in the answers: the digest's follow the codes its log detail saw (not the family),
the failures answer opens with what to fix first, and `failures --json` lists the fixes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.address import Address
from bot.domain.alerts import Notice, NoticeKind, Threshold
from bot.domain.correlate import ClientGroup, Correlation
from bot.domain.records import AuthFailure, Family
from bot.domain.summary import FailureSummary
from bot.services.alerting.group import ClusterNotices
from bot.services.queries import FailuresReport
from bot.services.who_failed_from_where import ClientsAnswer
from bot.views.blocks import MAX_BLOCKS, MAX_SECTION_TEXT
from bot.views.digest import digest_blocks
from bot.views.failures import failures_message
from bot.views.json_reports import failures_json
from tests.unit.test_render import CLUSTER, T0, WINDOW, metrics

EXPIRED_START = "103 `ExpiredToken`: the token is older than 15 minutes"
INVALID_START = "4 `InvalidToken`: the token was generated for another host"


def burst(expired: int = 103, invalid: int = 4) -> FailureSummary:
    summary = FailureSummary()
    rows = [("checkout_svc", "ExpiredToken")] * expired + [("app", "InvalidToken")] * invalid
    for i, (user, code) in enumerate(rows):
        at = T0 + timedelta(seconds=i)
        summary.add(AuthFailure(at, "ERROR", user, "r", 400, code), raw=f"{user} {code}")
    return summary


def digest_context(summary: FailureSummary | None, export_on: bool | None) -> str:
    threshold = Threshold(Family.INVALID_TOKEN, 5, timedelta(minutes=5))
    notice = Notice(NoticeKind.FIRING, Family.INVALID_TOKEN, 107, threshold, T0, T0)
    item = ClusterNotices(Address("prod-db"), (notice,), summary, export_on, "03:55–04:00 UTC")
    _, blocks = digest_blocks([item], datetime(2025, 8, 11, 4, 0, tzinfo=UTC))
    contexts = [b.to_dict() for b in blocks if b.type == "context"]
    return str(contexts[0]["elements"][0]["text"])


def test_a_digest_fix_follows_the_codes_seen_most_frequent_first() -> None:
    text = digest_context(burst(), True)
    fixes = [line for line in text.split("\n") if line.startswith("_Fix:_ ")]
    assert len(fixes) == 2
    assert fixes[0].startswith(f"_Fix:_ {EXPIRED_START}")
    assert fixes[1].startswith(f"_Fix:_ {INVALID_START}")


def test_a_digest_without_the_log_gives_the_family_fix_and_says_so() -> None:
    text = digest_context(None, False)
    (fix,) = [line for line in text.split("\n") if line.startswith("_Fix:_ ")]
    assert fix.startswith("_Fix:_ 107 `InvalidToken` (by family): the token is malformed")
    assert "older than 15 minutes" in fix
    assert fix.endswith("turn it on to see which code.)")


def clients_answer(groups: list[ClientGroup]) -> ClientsAnswer:
    matched = sum(g.matched for g in groups)
    return ClientsAnswer(
        "/aws/rds/cluster/prod-db/postgresql", Correlation(groups, 107, matched, 0, 0)
    )


def sections_of(message: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]


def test_the_failures_answer_opens_with_what_to_fix_first() -> None:
    groups = [
        ClientGroup("checkout_svc", "ExpiredToken", 98, [("10.0.2.8", 98)], 0, ["orders"]),
        ClientGroup("app", "InvalidToken", 4, [("10.0.1.70", 4)], 0, ["app"]),
    ]
    report = FailuresReport(
        CLUSTER, WINDOW, burst(), True, metrics(), clients=clients_answer(groups)
    )
    message = failures_message(report).to_dict()
    sections = sections_of(message)
    assert sections[0].startswith(f"*What to fix first*\n{EXPIRED_START}")
    assert "Tokens are being reused at `10.0.2.8` ×98" in sections[0]
    assert "(users `checkout_svc`)" in sections[0]
    assert sections[0].endswith("\nThen: 4 `InvalidToken`.")
    # The per-code sections, most frequent first, each with its fitted fix.
    per_code = [s for s in sections if "_Fix:_" in s]
    assert per_code[0].startswith("*ExpiredToken* (103)")
    assert "_Fix:_ The token is older than 15 minutes" in per_code[0]
    assert "reused at `10.0.2.8`" in per_code[0]
    assert per_code[1].startswith("*InvalidToken* (4)")
    assert "_Fix:_ The token was generated for another host" in per_code[1]
    assert len(message["blocks"]) <= MAX_BLOCKS
    assert all(len(s) <= MAX_SECTION_TEXT for s in sections)


def test_without_clients_the_answer_says_how_to_see_where_tokens_are_reused() -> None:
    message = failures_message(FailuresReport(CLUSTER, WINDOW, burst(), True, metrics())).to_dict()
    first = sections_of(message)[0]
    assert first.startswith(f"*What to fix first*\n{EXPIRED_START}")
    assert "Add `clients` to the command to see where tokens are being reused" in first


def test_with_the_export_off_the_answer_fixes_by_family() -> None:
    message = failures_message(FailuresReport(CLUSTER, WINDOW, None, True, metrics())).to_dict()
    first = [s for s in sections_of(message) if s.startswith("*What to fix first*")]
    assert len(first) == 1
    assert "(by family)" in first[0]
    assert "turn it on to see which code" in first[0]


def test_failures_json_lists_the_fixes_most_frequent_first() -> None:
    data = failures_json("prod-db", WINDOW, burst())
    assert [(f["code"], f["count"]) for f in data["fixes"]] == [
        ("ExpiredToken", 103),
        ("InvalidToken", 4),
    ]
    assert data["fixes"][0]["fix"].startswith("103 ExpiredToken: the token is older than 15")
