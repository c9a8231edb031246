"""By when the request being served must be answered, if it has such a limit.

A slash command or a click is answered through its `response_url`, which Slack accepts for 30
minutes. Work that would have to wait past that (for the account's shared AWS budget,
bot/adapters/aws/rate_budget.py) should say so instead of answering into the void. The deadline
lives in a ContextVar, set when the work after the ack is handed to its job thread (which runs in
a copy of the context); digests have none and wait as long as it takes.
"""

from __future__ import annotations

import contextvars
import time

# Slack accepts posts to a response_url for 30 minutes after the command or click.
RESPONSE_URL_SECONDS = 30 * 60
# What the work still has to do after its last AWS call: render and post the answer.
ANSWER_MARGIN_SECONDS = 60

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "iamauth_answer_deadline", default=None
)


def answer_within(seconds: float) -> None:
    """The request being served in this context must be answered within `seconds` from now."""
    _deadline.set(time.monotonic() + seconds)


def answer_through_response_url() -> None:
    """This context answers through a response_url received just now."""
    answer_within(RESPONSE_URL_SECONDS - ANSWER_MARGIN_SECONDS)


def seconds_left() -> float | None:
    """Seconds until this context's deadline (negative once past it); None when it has none."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()
