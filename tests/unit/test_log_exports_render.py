"""The log-export replies with whatever RDS says (engine, status, export names): nothing live, within
Block Kit's limits; and the answer cache's clear(), which keeps a stale "off" from being served."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.cluster import IAM_LOG_EXPORT, ClusterInfo
from bot.ops.cache import TtlCache
from bot.services.log_exports import ExportChange, LogExports
from bot.views.log_exports import (
    already_on_message,
    enable_done,
    enable_not_done,
    enable_offer,
    enable_requested,
    logs_message,
)
from tests.unit.test_hostile_text import assert_safe, hostile


def cluster(engine: str, status: str, exports: list[str], pending: list[str]) -> ClusterInfo:
    return ClusterInfo(
        "prod-db", engine, status, True, tuple(exports), ("prod-db-1",), tuple(pending)
    )


@settings(max_examples=100, deadline=None)
@given(hostile, hostile, st.lists(hostile, max_size=8), st.lists(hostile, max_size=3))
def test_replies_hold_any_text_from_rds(
    engine: str, status: str, exports: list[str], pending: list[str]
) -> None:
    info = cluster(engine, status, exports, pending)
    on = cluster(engine, status, [*exports, IAM_LOG_EXPORT], pending)
    for message in (
        logs_message(LogExports(info, "123456789012/us-east-1"), "prod-db"),
        enable_offer(info, "prod-db", ""),
        already_on_message(ExportChange(info, "", requested=False)),
        enable_requested(ExportChange(info, "", requested=True), "U0ADMIN01"),
        enable_done(on),
        enable_not_done("prod-db", "prod-db", 1200.0, status),
    ):
        assert_safe(message.to_dict())


def test_logs_names_other_exports_as_unused() -> None:
    info = cluster("aurora-mysql", "available", ["audit", "slowquery"], [])
    text = logs_message(LogExports(info), "prod-db").to_dict()["blocks"][0]["text"]["text"]
    assert ":white_circle: *off* `iam-db-auth-error`" in text
    assert "`postgresql`" not in text  # a MySQL cluster has no such export
    assert ":large_green_circle: *on* `audit`: not read by iamauth" in text


def test_timeout_message_says_how_long_it_waited() -> None:
    text = enable_not_done("prod-db", "prod-db", 1200.0).text
    assert "not confirmed yet" in text
    blocks = enable_not_done("prod-db", "prod-db", 1200.0).to_dict()["blocks"]
    assert "after 20m" in blocks[0]["text"]["text"]


def test_cleared_answers_are_computed_again() -> None:
    cache: TtlCache[str] = TtlCache(30, clock=lambda: 0.0)
    assert cache.get("exports", lambda: "off") == "off"
    assert cache.get("exports", lambda: "on") == "off"  # cached
    cache.clear()
    assert cache.get("exports", lambda: "on") == "on"


def test_an_answer_computed_across_a_clear_is_not_kept() -> None:
    """An answer read before a change but stored after it would be served stale: it is dropped."""
    cache: TtlCache[str] = TtlCache(30, clock=lambda: 0.0)

    def read_then_change() -> str:
        cache.clear()  # the change lands while this (older) answer is being computed
        return "off"

    assert cache.get("exports", read_then_change) == "off"  # the asker still gets it
    assert cache.get("exports", lambda: "on") == "on"
