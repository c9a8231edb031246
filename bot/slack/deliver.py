"""Posting the outbox: each digest reaches its channel once.

The tick writes a digest to the outbox in the same transaction as the state change it reports, so a
crash before posting loses nothing: the row stays pending and is posted later. Before each post the
attempt is recorded; a row with an earlier attempt may have been posted by a process that died
before marking it sent, so the channel's recent history is searched for the row's key (carried in
the message metadata) and the row is marked sent instead of posted twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.chart_posts import post_digest_chart
from bot.store.repo import OutboxItem, Store
from bot.telemetry import DIGESTS_POSTED

EVENT_TYPE = "iamauth_digest"
# Errors that another try will not fix: the row is marked failed instead of retried forever.
PERMANENT_ERRORS = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "invalid_blocks", "msg_too_long",
     "invalid_auth", "account_inactive", "token_revoked", "missing_scope", "restricted_action"}
)  # fmt: skip
MAX_ATTEMPTS = 10
log = logging.getLogger(__name__)


class Deliverer:
    def __init__(self, store: Store, client: WebClient, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.client = client
        self.clock = clock

    def deliver_pending(self) -> int:
        """Post every pending digest; returns how many were posted (not counting recoveries)."""
        posted = 0
        for item in self.store.pending():
            if item.attempts:
                ts = self._already_posted(item)
                if ts is not None:
                    log.info(
                        "outbox %s was posted before a crash (ts %s); marking it sent", item.id, ts
                    )
                    self.store.mark_sent(item.id, ts, self.clock())
                    continue
            self.store.mark_attempt(item.id)
            try:
                response = self.client.chat_postMessage(
                    channel=item.channel,
                    text=item.text,
                    blocks=item.blocks,
                    metadata={"event_type": EVENT_TYPE, "event_payload": {"outbox_key": item.key}},
                    unfurl_links=False,
                )
            except SlackApiError as error:
                code = str(error.response.get("error", "error"))
                give_up = code in PERMANENT_ERRORS or item.attempts + 1 >= MAX_ATTEMPTS
                log.warning("posting outbox %s to %s failed: %s", item.id, item.channel, code)
                self.store.mark_error(item.id, code, give_up=give_up)
                continue
            ts = str(response.get("ts"))
            self.store.mark_sent(item.id, ts, self.clock())
            posted += 1
            DIGESTS_POSTED.inc()
            if item.chart:
                # After mark_sent: a failed chart is logged and never re-posts the digest.
                channel = str(response.get("channel") or item.channel)
                post_digest_chart(self.client, channel, ts, item.chart)
        return posted

    def _already_posted(self, item: OutboxItem) -> str | None:
        oldest = (item.created_at - timedelta(minutes=1)).timestamp()
        cursor: str | None = None
        try:
            while True:
                page: Any = self.client.conversations_history(
                    channel=item.channel,
                    oldest=f"{oldest:.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
                for message in page.get("messages", []):
                    payload = (message.get("metadata") or {}).get("event_payload") or {}
                    if payload.get("outbox_key") == item.key:
                        return str(message.get("ts"))
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not page.get("has_more") or not cursor:
                    return None
        except SlackApiError as error:
            # Without history we cannot tell; posting again risks a duplicate, not a loss.
            log.warning("cannot read %s history to check outbox %s: %s", item.channel, item.id,
                        error.response.get("error"))  # fmt: skip
            return None
