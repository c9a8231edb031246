from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.store.repo import AuditEntry
from bot.domain.address import Address, parse_address
from bot.domain.cluster import ClusterInfo
from bot.domain.metrics import METRIC_NAMES, MetricsReport, Series
from bot.domain.records import AuthFailure
from bot.domain.summary import FailureSummary
from bot.domain.text import reveal, shown
from bot.domain.watches import Watch, make_watch, parse_threshold_spec
from bot.domain.window import Window
from bot.services.queries import FailuresReport
from bot.services.watches import WatchListing
from bot.views.blocks import MAX_BLOCKS, MAX_SECTION_TEXT
from bot.views.failures import failures_message
from bot.views.metrics import metrics_message
from bot.views.mrkdwn import block_quote_code, code, escape
from bot.views.terminal import audit_table, render_message
from bot.views.watches import MAX_LISTED, watch_line, watches_list

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


def failures_message_for_user(user: str) -> dict[str, Any]:
    return report_for([user])


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


def test_hidden_characters_are_shown_as_markers() -> None:
    assert reveal("adm\u200bin") == "adm<U+200B>in"
    assert reveal("\u202eexe.txt") == "<U+202E>exe.txt"
    assert reveal("\x1b]0;pwned\x07\x1b[2J") == "<U+001B>]0;pwned<U+0007><U+001B>[2J"
    assert reveal("\x9b31m\x7f\xad\ufeff\u2066\u2069\u061c\u200e\u200f") == (
        "<U+009B>31m<U+007F><U+00AD><U+FEFF><U+2066><U+2069><U+061C><U+200E><U+200F>"
    )
    assert reveal("a\ufe0f \U000e0100 \u3164 x\ud800") == "a<U+FE0F> <U+E0100> <U+3164> x<U+D800>"
    assert reveal("a\nb\r\n") == "a<U+000A>b<U+000D><U+000A>"
    assert reveal("a\nb\r\n", keep_newlines=True) == "a\nb<U+000D>\n"


def test_accents_cjk_and_emoji_are_kept_as_they_are() -> None:
    scotland = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    kept = f"café e\u0301 東京 ユーザー 😀 👍🏽 👨\u200d👩\u200d👧 👩🏽\u200d💻 ❤️ 1️⃣ {scotland}"
    assert reveal(kept) == kept
    # Joiners and tags outside a well-formed emoji carry hidden text: they are shown.
    assert reveal("a\u200db 😀\u200d") == "a<U+200D>b 😀<U+200D>"
    assert (
        reveal("\U0001f3f4\U000e0061\U000e0064\U000e006d")
        == "\U0001f3f4<U+E0061><U+E0064><U+E006D>"
    )


def test_slack_shows_the_markers_escaped_and_within_the_limit() -> None:
    assert code("\u202eevil.exe") == "`&lt;U+202E&gt;evil.exe`"
    assert code("\u200b" * 50, 20) == "`" + escape("<U+200B>" * 2 + "<U+…") + "`"
    assert block_quote_code("line\x1b[2J\nnext") == "```line&lt;U+001B&gt;[2J\nnext```"
    assert escape("reason \u202e<b>") == "reason &lt;U+202E&gt;&lt;b&gt;"
    assert shown("adm\u200bin `x`") == "adm<U+200B>in 'x'"


def test_the_terminal_shows_markers_not_escapes() -> None:
    message = failures_message_for_user("\x1b]0;pwned\x07adm\u200bin")
    printed = render_message(message)
    assert "<U+001B>]0;pwned<U+0007>adm<U+200B>in" in printed
    assert "\x1b" not in printed
    assert "\x07" not in printed


def test_the_audit_table_has_one_line_an_entry() -> None:
    entries = [
        AuditEntry(T0, "U0A\x1b[2J", "C0\u202e", "/iamauth x\ny", "invalid", "bad\r\x07 `x`"),
        AuditEntry(T0, "U0B", "C0B", "/iamauth help", "allowed"),
    ]
    first, second = audit_table(entries).split("\n")
    assert first == (
        "2025-08-11 03:00:00  U0A<U+001B>[2J C0<U+202E>   invalid  "
        "'/iamauth x<U+000A>y'  (bad<U+000D><U+0007> `x`)"
    )
    assert second == "2025-08-11 03:00:00  U0B          C0B          allowed  '/iamauth help'"
    assert audit_table([]) == "The audit log is empty."


def watch_for(i: int) -> Watch:
    thresholds = [
        parse_threshold_spec(s) for s in ("invalid_token>=5/5m", "insufficient_permissions>=1/15m")
    ]
    cluster = f"orders-service-aurora-postgresql-production-{i:03d}"
    return make_watch(
        parse_address(cluster), f"C0OPS{i:05d}", thresholds, repeat=timedelta(hours=4)
    )


def watch_sections(message: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]


def test_a_long_watch_list_is_split_between_lines() -> None:
    watches = [watch_for(i) for i in range(45)]
    message = watches_list(WatchListing(watches, {}), T0).to_dict()
    sections = watch_sections(message)
    assert len(sections) > 1
    assert all(len(s) <= MAX_SECTION_TEXT for s in sections)
    lines = "\n".join(sections).split("\n")
    assert lines == ["*Watches*", *(watch_line(w) for w in watches)]


def test_what_does_not_fit_is_counted() -> None:
    listing = WatchListing([watch_for(i) for i in range(MAX_LISTED + 30)], {})
    lines = "\n".join(watch_sections(watches_list(listing, T0).to_dict())).split("\n")
    assert lines[-1] == "…and 30 more"
    assert lines[1:-1] == [watch_line(w) for w in listing.watches[:MAX_LISTED]]
    # When the blocks run out first, the count says so too.
    huge = [replace(watch_for(i), cluster=Address(f"db-{i}-" + "x" * 2800)) for i in range(80)]
    message = watches_list(WatchListing(huge, {}), T0).to_dict()
    assert len(message["blocks"]) <= MAX_BLOCKS
    text = "\n".join(watch_sections(message))
    shown_watches = sum(line.startswith("`db-") for line in text.split("\n"))
    assert shown_watches > 40
    assert text.endswith(f"\n…and {80 - shown_watches} more")
    assert "Some detail was left out" not in json.dumps(message)
