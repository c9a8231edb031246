"""JSON log lines and request ids: every line written while serving one command carries its id,
in the listener's thread and in the job's, and an unexpected error's reply names the same id."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.ops.logging_setup import JsonLines, log_format
from tests.conftest import BotUnderTest


class JsonLog:
    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.buffer.getvalue().splitlines()]

    def of(self, rid: str) -> list[dict[str, Any]]:
        return [r for r in self.records() if r.get("request_id") == rid]


@pytest.fixture
def json_log(bot: BotUnderTest) -> Iterator[JsonLog]:
    """The formatter the server processes use, on the root logger, at INFO, for one test."""
    log = JsonLog()
    handler = logging.StreamHandler(log.buffer)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield log
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_an_unexpected_error_names_the_request_id_of_its_log_lines(
    bot: BotUnderTest, json_log: JsonLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("a bug; the token xoxb-1234-abcdef was in scope")

    # moto cannot be made to hit a bug in the bot: the service itself is replaced for this one.
    monkeypatch.setattr(bot.runtime.queries, "failures", broken)
    reply = bot.command("failures prod-db 1h").response
    assert reply is not None
    found = re.search(r"request `([0-9a-f]{12})`", reply.body["text"])
    assert found, reply.body["text"]
    rid = found.group(1)

    lines = json_log.of(rid)
    error = next(r for r in lines if "exc_info" in r)
    assert error["level"] == "ERROR"
    assert error["message"] == f"request {rid} (failures) failed"
    assert "RuntimeError: a bug" in error["exc_info"]
    assert "xoxb-1234" not in json_log.buffer.getvalue()  # redacted in tracebacks too
    audit = next(r for r in lines if r.get("command") == "failures")
    assert audit["outcome"] == "error"
    assert audit["user"]
    assert audit["channel"]


def test_every_line_is_one_json_object_and_each_command_has_its_own_id(
    bot: BotUnderTest, json_log: JsonLog
) -> None:
    bot.command("failures ghost-db 1h")  # answered after the ack, in a job thread
    bot.command("failures", expect_reply=False)  # a usage error, answered in Bolt's thread
    logging.getLogger("tests").info("outside any request")

    records = json_log.records()
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert all(datetime.fromisoformat(r["time"]).utcoffset() == timedelta(0) for r in records)
    served = [r for r in records if r.get("command") == "failures"]
    assert [r["outcome"] for r in served] == ["error", "invalid"]
    ids = [r["request_id"] for r in served]
    assert len(set(ids)) == 2
    assert all(re.fullmatch(r"[0-9a-f]{12}", i) for i in ids)
    # The job thread's lines carry the id its listener was given.
    assert any("There is no Aurora cluster" in r["message"] for r in json_log.of(ids[0]))
    outside = next(r for r in records if r["message"] == "outside any request")
    assert "request_id" not in outside


def test_the_log_format_variable_overrides_each_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IAMAUTH_LOG_FORMAT", raising=False)
    assert (log_format("json"), log_format("text")) == ("json", "text")
    monkeypatch.setenv("IAMAUTH_LOG_FORMAT", "TEXT")
    assert log_format("json") == "text"
    monkeypatch.setenv("IAMAUTH_LOG_FORMAT", "json")
    assert log_format("text") == "json"
    monkeypatch.setenv("IAMAUTH_LOG_FORMAT", "xml")
    assert log_format("text") == "text"
