"""What every handler is given: the services, the limits, and who asked from where."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.service import IamAuthService
from bot.slack.render import Message
from bot.watching import WatchService


@dataclass(frozen=True)
class Deps:
    service: IamAuthService
    max_window: timedelta
    watching: WatchService


@dataclass(frozen=True)
class CommandRequest:
    """The words after the subcommand, and Slack's own ids from the payload (never from text)."""

    words: list[str]
    user_id: str
    channel_id: str


# A prepared command: input already validated, runs after the ack and returns the reply.
Job = Callable[[], Message]
