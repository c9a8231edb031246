"""IAMAUTH_LOG_FORMAT=text: one record, one line, whatever text from outside the message holds."""

from __future__ import annotations

import io
import logging
import re

from bot.ops.logging_setup import make_handler

RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ")
FORGED = "2025-01-01 00:00:00,000 CRITICAL iamauth: forged"


def text_log() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = make_handler("text")
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    logger = logging.getLogger("tests.text_log_lines")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def records(stream: io.StringIO) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if RECORD_START.match(line)]


def test_line_breaks_in_a_message_cannot_forge_a_record() -> None:
    logger, stream = text_log()
    for brk in ["\n", "\r\n", "\r", "\v", "\f", "\x1c", "\x85", "\u2028", "\u2029"]:
        logger.info("user %s failed", f"bob{brk}{FORGED}")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 9
    assert records(stream) == lines
    assert all("forged" in line and line.index("forged") > 40 for line in lines)
    assert lines[0].endswith("user bob\\n" + FORGED + " failed")


def test_a_traceback_keeps_its_lines_but_none_looks_like_a_record() -> None:
    logger, stream = text_log()
    try:
        raise ValueError(f"bad name\n{FORGED}")
    except ValueError:
        logger.exception("while reading %s", "x\ny")
    lines = stream.getvalue().splitlines()
    assert records(stream) == [lines[0]]
    assert lines[0].endswith("while reading x\\ny")
    assert lines[1] == "    Traceback (most recent call last):"
    assert all(line.startswith("    ") for line in lines[1:])
    assert any(line == "    " + FORGED for line in lines)
