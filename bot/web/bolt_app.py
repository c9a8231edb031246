"""The Bolt app factory: one App for Socket Mode (`iamauth run`) and HTTP (`iamauth web`), its
listeners registered by the caller (bot/bootstrap.py, with handlers.register)."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient

from bot.web.ack_timer import AckTimer


def bolt_app(client: WebClient, signing_secret: str) -> App:
    app = App(
        client=client,
        signing_secret=signing_secret,
        logger=logging.getLogger("iamauth.bolt"),
        # Verify the token once at start: a wrong token fails here, not at the first command.
        token_verification_enabled=True,
    )
    app.use(AckTimer())
    return app
