"""What every handler is given: the service layer and the limits from the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.service import IamAuthService
from bot.slack.render import Message


@dataclass(frozen=True)
class Deps:
    service: IamAuthService
    max_window: timedelta


# A prepared command: input already validated, runs after the ack and returns the reply.
Job = Callable[[], Message]
