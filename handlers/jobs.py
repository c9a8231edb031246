"""Running a prepared command or click after the ack: its reply, and the outcome it is audited and
counted under. Errors become one plain sentence, never a traceback in Slack."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.adapters.aws.errors import AwsError
from bot.ops import request_id
from bot.views.blocks import Message, error_message
from handlers.context import Job, NothingChanged

log = logging.getLogger(__name__)


def run_job(
    job: Job, what: str, *, refusal: Callable[[AwsError], str] = str
) -> tuple[Message, str]:
    """Run a prepared job; errors become a plain sentence (`refusal` words AWS's, where the job's
    view has more to say). Returns the reply and the outcome. An unexpected error's reply names
    the request id that is on its log lines."""
    rid = request_id.current() or request_id.new_id()  # a listener not wrapped in new_request
    try:
        return job(), "allowed"
    except AwsError as error:
        log.info("request %s (%s): %s", rid, what, error)
        return error_message(refusal(error)), "error"
    except NothingChanged as error:
        log.info("request %s (%s): %s", rid, what, error)
        return error_message(str(error)), "error"
    except Exception:
        log.exception("request %s (%s) failed", rid, what)
        return error_message(
            f"Something went wrong inside iamauth (request `{rid}`); the details are logged."
        ), "error"
