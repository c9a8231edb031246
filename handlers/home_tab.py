"""Publishing a person's Home tab (`views.publish`): when they open it and after their own changes.
Runs in the job pool, never in a listener thread; a failure is logged, never shown (the tab keeps
its last view and the next opening publishes again)."""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot.services.home import HomeService
from bot.views.home import home_view

log = logging.getLogger(__name__)


def publish_home(home: HomeService, slack: WebClient, user: str, channel: str) -> None:
    """Publish `user`'s Home tab, showing what may be read in `channel` (the tab's own)."""
    try:
        view = home_view(home.home(channel), channel)
        slack.views_publish(user_id=user, view=view)
    except Exception:
        log.exception("publishing the Home tab of %s failed", user)


def refresh_home(home: HomeService, slack: WebClient, user: str) -> None:
    """After `user`'s own change: their Home tab again, if they opened it in this process."""
    channel = home.channel_of(user)
    if channel is not None:
        publish_home(home, slack, user, channel)
