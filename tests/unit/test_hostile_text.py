"""Every renderer, fed arbitrary Unicode where people or logs supply text: no live mention or link
that the bot did not make itself, no formatting that escapes its code span, no character that
drives a terminal or hides text (controls, ESC sequences, bidi, zero-width), and Block Kit limits;
the same text printed in a terminal."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.store.repo import AuditEntry, Silence
from bot.domain.address import Address, parse_address
from bot.domain.alerts import Notice, NoticeKind, Threshold
from bot.domain.records import AuthFailure, Family
from bot.domain.summary import FailureSummary
from bot.domain.watches import make_watch, parse_threshold_spec
from bot.services.alerting.group import ClusterNotices
from bot.services.watches import WatchListing
from bot.views.audit_log import audit_list
from bot.views.blocks import MAX_BLOCKS, MAX_SECTION_TEXT, error_message
from bot.views.digest import digest_blocks
from bot.views.help import help_message
from bot.views.mrkdwn import code
from bot.views.terminal import audit_table, render_message
from bot.views.watches import watches_list
from tests.unit.test_render import report_for

T0 = datetime(2025, 8, 11, 4, 0, tzinfo=UTC)
# What the bot itself may put in angle brackets: channel and user references built from checked ids.
BOT_MADE = re.compile(r"<#C[A-Z0-9]{2,20}>|<@U[A-Z0-9]{2,20}>")
# Characters that steer a terminal or hide text, often enough to meet each other and plain text.
STEERING = [
    "\x1b", "\x07", "\x9b", "\x7f", "\x00", "\r", "\t", "\x85", "\u2028", "\u202e", "\u202d",
    "\u2066", "\u2069", "\u200e", "\u200f", "\u061c", "\u200b", "\u200c", "\u200d", "\u2060",
    "\ufeff", "\xad", "\ufe0f", "\U000e0041", "\U000e007f", "\U000e0100", "\u3164", "\ud800",
    "\U0001f3f4", "\U0001f468", "[", "]", ";", "2", "J", "a",
]  # fmt: skip
hostile = (
    st.text(max_size=400)
    | st.text(st.characters() | st.sampled_from(STEERING), max_size=60)
    | st.sampled_from(
        ["<!channel>", "<!here>", "<!everyone>", "<@U123ABC>", "<#C123ABC|x>", "<!subteam^S1|@team>",
         "<https://evil.example|click me>", "`code` *bold* _it_ ~st~ ```block```",
         "\u202e\u0000\x1b[31m", "\x1b]0;pwned\x07\x1b[2J", "\u202eexe.txt", "adm\u200bin"]
    )
)  # fmt: skip
# The judge of "hidden", written apart from the code under test: controls, format characters
# (bidi, zero-width, tags), separators, surrogates, variation selectors and fillers...
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
_INVISIBLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]"
)
# ...except the joiners, selectors and tags that follow an emoji (a looser rule than the code's).
_EMOJI_RUN = regex.compile(
    r"\p{Extended_Pictographic}[\p{Extended_Pictographic}\u200d\ufe0e\ufe0f\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]*"
)  # fmt: skip

PROD = Address("prod-db")


def hidden(text: str, allowed: str = "\n") -> list[str]:
    """The characters of `text` that would steer a terminal or hide text where they are shown."""
    return [
        c
        for c in _EMOJI_RUN.sub("", text)
        if c not in allowed
        and (unicodedata.category(c) in _HIDDEN_CATEGORIES or _INVISIBLE.match(c))
    ]


def texts(message: dict[str, Any]) -> list[str]:
    out = [message["text"]]
    for block in message["blocks"]:
        if "text" in block and isinstance(block["text"], dict):
            out.append(block["text"]["text"])
        for element in block.get("elements", []):
            text = element.get("text")
            out.append(text["text"] if isinstance(text, dict) else str(text or ""))
    return out


def assert_safe(message: dict[str, Any]) -> None:
    assert len(message["blocks"]) <= MAX_BLOCKS
    for text in texts(message):
        assert len(text) <= MAX_SECTION_TEXT
        bare = BOT_MADE.sub("", text)
        assert "<" not in bare, text
        assert ">" not in bare, text
        assert hidden(text) == [], text
    printed = render_message(message)
    assert hidden(printed) == [], printed


@settings(max_examples=200, deadline=None)
@given(hostile)
def test_code_spans_hold_any_text(text: str) -> None:
    rendered = code(text)
    assert rendered.count("`") in (0, 2)  # one span, or the blank marker
    assert "\n" not in rendered


@settings(max_examples=100, deadline=None)
@given(hostile, hostile)
def test_error_and_help_messages(text: str, other: str) -> None:
    assert_safe(error_message(text).to_dict())
    assert_safe(help_message(f"{code(text, 30)} is not an iamauth command.").to_dict())


@settings(max_examples=100, deadline=None)
@given(st.lists(hostile, min_size=1, max_size=60))
def test_audit_listing(actions: list[str]) -> None:
    entries = [AuditEntry(T0, "U0ALICE01", "C0OPS00001", a, "refused", a) for a in actions]
    assert_safe(audit_list(entries).to_dict())


@settings(max_examples=100, deadline=None)
@given(hostile)
def test_watch_listing_with_a_hostile_silence_reason(reason: str) -> None:
    watch = make_watch(
        parse_address("prod-db"), "C0OPS00001", [parse_threshold_spec("invalid_token>=5/5m")]
    )
    listing = WatchListing([watch], {PROD: Silence(PROD, T0, reason, "U0ALICE01")})
    assert_safe(watches_list(listing, T0).to_dict())


@settings(max_examples=100, deadline=None)
@given(st.lists(hostile, min_size=1, max_size=20))
def test_digest_with_hostile_users_and_arns(users: list[str]) -> None:
    summary = FailureSummary()
    for user in users:
        summary.add(AuthFailure(T0, "ERROR", user, "r", 403, "NotAuthorized", user), raw=user)
    threshold = Threshold(Family.INSUFFICIENT_PERMISSIONS, 1, timedelta(minutes=15))
    notice = Notice(
        NoticeKind.FIRING, Family.INSUFFICIENT_PERMISSIONS, len(users), threshold, T0, T0
    )
    items = [
        ClusterNotices(Address(f"db-{i}"), (notice,), summary, True, "03:45–04:00 UTC")
        for i in range(15)
    ]
    text, blocks = digest_blocks(items, T0)
    assert_safe({"text": text, "blocks": [b.to_dict() for b in blocks]})


@settings(max_examples=100, deadline=None)
@given(st.lists(hostile, min_size=1, max_size=20), hostile)
def test_failures_with_hostile_users_and_log_lines(users: list[str], line: str) -> None:
    assert_safe(report_for([*users, line]))  # users as code, their log lines as code blocks


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(hostile, hostile, hostile, hostile, hostile), min_size=1, max_size=10))
def test_the_audit_table_in_a_terminal(rows: list[tuple[str, str, str, str, str]]) -> None:
    entries = [AuditEntry(T0, *row) for row in rows]
    printed = audit_table(entries)
    assert len(printed.split("\n")) == len(entries)
    assert hidden(printed) == [], printed


@settings(max_examples=200, deadline=None)
@given(hostile, hostile)
def test_the_terminal_prints_any_message_safely(title: str, text: str) -> None:
    """Whatever a renderer left raw (a header, a button label, the fallback text)."""
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"```{text}```"}]},
        {"type": "actions", "elements": [{"type": "button", "text": {"text": title}}]},
    ]
    for message in ({"text": text, "blocks": blocks}, {"text": text}):
        printed = render_message(message)
        assert hidden(printed) == [], printed
