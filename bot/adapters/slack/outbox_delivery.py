"""Posting the outbox: each digest reaches its channel once, whatever fails on the way.

The tick writes a digest to the outbox in the same transaction as the state change it reports, so
a crash before posting loses nothing: the row stays pending and is posted later. Then:

- **Claimed before each attempt.** The claim counts the attempt and keeps every other process off
  the row until it lapses (longer than a post can take, CLAIM_TTL). The scheduler claims under its
  lease's fence, in one transaction with the lease check, and checks again right before posting:
  a process that lost the lead posts nothing more.
- **Only a 429 proves nothing was posted.** Any other failure without a clear refusal (a 5xx, a
  timeout, a dropped connection, a process that died or froze mid-post) leaves the row *unsure*:
  before it is posted again, the channel's history is searched for the row's key (carried in the
  message metadata), and finding it marks the row sent instead.
- **Transient failures are retried at every tick** (a jittered pause of at most half a tick, or
  Slack's Retry-After) until the row is older than `max_age`: then it is marked expired, logged and
  counted. Errors another try cannot fix mark the row failed at once.
- **Alert messages are edited in place** (bot/services/alerting/in_place.py): an UPDATE row edits
  its message (chat.update: idempotent, so an unsure attempt is simply tried again), a REPLY row
  posts in its thread (searched for in the thread when unsure). A message never posted, or
  deleted by a person (`message_not_found`), is posted again by its next edit, with that row's
  key: the row is then a post like any other, and later rows follow the message to its new ts.
- **An edit with a later edit of the same message pending is skipped** (`superseded`), unless an
  attempt at it may have posted the message again: after an outage a message is edited once, to
  what it shows now.
- **Channels are delivered concurrently** (at most WORKERS at once), each channel's rows in order:
  one channel's Retry-After, outage or error never delays or stops another's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Set
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from slack_sdk import WebClient

from bot.adapters.slack.delivery_policy import (
    DEFAULT_MAX_AGE,
    SLACK_FAILURES,
    Failure,
    backoff,
    failure_of,
)
from bot.adapters.slack.files import Png, UploadError, upload_png
from bot.adapters.slack.web_client import DELIVERY_CALL_SECONDS
from bot.adapters.store.fence import Fence, LeaseLost
from bot.adapters.store.repo import REPLY, UPDATE, OutboxItem, Store
from bot.ops.telemetry import DIGESTS_EXPIRED, DIGESTS_POSTED, DIGESTS_UPDATED

EVENT_TYPE = "iamauth_digest"
WORKERS = 8
# No other process tries a claimed row before this: the longest call, and time for the database
# writes around it. A post starts only while a whole call still fits in the claim.
CLAIM_TTL = timedelta(seconds=DELIVERY_CALL_SECONDS + 5)
HISTORY_MARGIN = timedelta(minutes=1)  # Slack's clock and this host's may differ
# Answers when the message is no longer there to edit (chat.update) or to reply under
# (chat.postMessage, conversations.replies with its ts): it is posted again.
MESSAGE_GONE = frozenset({"message_not_found", "cant_update_message", "thread_not_found"})
# Draws a digest's chart from the spec its outbox row stores (bot/views/chart_files.py).
ChartDrawer = Callable[[Mapping[str, Any]], Png]
log = logging.getLogger(__name__)


class Unanswered(Exception):
    """The channel's history cannot be read now."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.code)
        self.failure = failure


class Outcome(Enum):
    POSTED = "posted"
    SETTLED = "settled"  # done with the row without posting: found posted, failed or expired
    WAIT = "wait"  # the row waits for a later tick, and so do the channel's later rows


class Deliverer:
    def __init__(
        self,
        store: Store,
        client: WebClient,
        clock: Callable[[], datetime],
        *,
        tick: timedelta = timedelta(seconds=60),
        max_age: timedelta = DEFAULT_MAX_AGE,
        workers: int = WORKERS,
        draw_chart: ChartDrawer | None = None,
    ) -> None:
        self.store = store
        # None: a digest's chart is left out (its spec stays in the outbox row).
        self.draw_chart = draw_chart
        self.client = client
        self.clock = clock
        self.tick = tick
        self.max_age = max_age
        self.workers = workers

    def deliver_pending(self, fence: Fence | None = None) -> int:
        """Post every pending digest that is due; returns how many were posted (not counting
        recoveries). With the scheduler's fence: raises LeaseLost once the lease is lost, after
        every channel stopped."""
        channels: dict[str, list[OutboxItem]] = {}
        pending = self.store.pending()
        for item in pending:
            channels.setdefault(item.channel, []).append(item)
        # An edit with a later edit of its message pending says nothing that one will not: after
        # an outage the message is edited once, to what it shows now, not once per tick missed.
        last_edit = {i.message_key: i.id for i in pending if i.kind == UPDATE and i.message_key}
        superseded = {
            i.id
            for i in pending
            if i.kind == UPDATE and i.message_key and last_edit[i.message_key] != i.id
        }
        if not channels:
            return 0
        lost = threading.Event()
        with ThreadPoolExecutor(
            max_workers=min(self.workers, len(channels)), thread_name_prefix="deliver"
        ) as pool:
            posted = sum(
                pool.map(
                    lambda items: self._channel(items, fence, lost, superseded),
                    channels.values(),
                )
            )
        if lost.is_set():
            raise LeaseLost("the lease was lost during delivery")
        return posted

    def _channel(
        self,
        items: Iterable[OutboxItem],
        fence: Fence | None,
        lost: threading.Event,
        superseded: Set[int] = frozenset(),
    ) -> int:
        """One channel's rows in order, until one must wait: no later row overtakes it."""
        posted = 0
        for item in items:
            if lost.is_set():
                break
            try:
                outcome = self._deliver(item, fence, item.id in superseded)
            except LeaseLost:
                lost.set()
                break
            except Exception:
                # The database, most likely. The row stays claimed by this holder, which takes it
                # up again at its next tick, searching the history first.
                log.exception("delivering outbox %s to %s stopped", item.id, item.channel)
                break
            if outcome is Outcome.WAIT:
                break
            if outcome is Outcome.POSTED:
                posted += 1
        return posted

    def _deliver(self, item: OutboxItem, fence: Fence | None, superseded: bool = False) -> Outcome:
        now = self.clock()
        claim = self.store.claim(item.id, now, now + CLAIM_TTL, fence)
        if claim is None:
            return Outcome.WAIT  # not due yet, another process is trying it, or it is done
        claimed = time.monotonic()
        if now - claim.created_at > self.max_age:
            return self._expire(claim, now)
        # Where its message is (an edit or a reply needs it; a first post makes it).
        follows = claim.message_key if claim.kind in (UPDATE, REPLY) else None
        message_ts = self.store.message_ts(follows) if follows else None
        # Skipped unless an attempt at it may have posted the message again (it has no ts then).
        if superseded and (claim.unsure_since is None or message_ts is not None):
            self.store.give_up(claim, "superseded", "a later edit of its message replaces it")
            return Outcome.SETTLED
        # An edit of a message that is there: idempotent, tried again without looking.
        editing = claim.kind == UPDATE and message_ts is not None
        # A reply goes in its message's thread; one whose message was never posted, on its own.
        thread_ts = message_ts if claim.kind == REPLY else None
        if claim.unsure_since is not None and not editing:
            try:
                ts = self._find_posted(claim, claim.unsure_since, thread_ts)
            except Unanswered as unanswered:
                self._retry(claim, unanswered.failure, "reading the history")
                return Outcome.WAIT
            if ts is not None:
                log.info("outbox %s was posted before (ts %s); marking it sent", claim.id, ts)
                self._mark_posted(claim, ts, in_thread=thread_ts is not None)
                return Outcome.SETTLED
            now = self.clock()
            if not self.store.confirm(claim, now, now + CLAIM_TTL, fence):
                return Outcome.WAIT
            claimed = time.monotonic()
        if time.monotonic() - claimed + DELIVERY_CALL_SECONDS > CLAIM_TTL.total_seconds():
            # Stopped (frozen, paused) since the claim: another process may be trying it now.
            self.store.retry_later(claim, "claim lapsed", self.clock(), maybe_posted=False)
            return Outcome.WAIT
        if editing and message_ts is not None:
            return self._edit(claim, message_ts)
        return self._post(claim, thread_ts)

    def _mark_posted(self, item: OutboxItem, ts: str, *, in_thread: bool) -> None:
        """A post of the row is in the channel at `ts`. Posted on its own (not in a thread), it
        is where its alert message is now: the first post, an edit that posted the message again,
        or a reply whose message was not there; later edits and replies go to it."""
        moved = item.message_key if not in_thread else None
        self.store.mark_sent(item.id, ts, self.clock(), message=moved)

    def _edit(self, item: OutboxItem, ts: str) -> Outcome:
        try:
            self.client.chat_update(channel=item.channel, ts=ts, text=item.text, blocks=item.blocks)
        except SLACK_FAILURES as error:
            failure = failure_of(error)
            if failure.code in MESSAGE_GONE and item.message_key:
                # Deleted by a person (or never there): posted again, in this same attempt.
                log.info("outbox %s: the message at %s is gone; posting it again", item.id, ts)
                self.store.message_gone(item.message_key, ts)
                return self._post(item, None)
            if not failure.permanent:
                self._retry(item, failure, "editing")
                return Outcome.WAIT
            log.warning("outbox %s to %s failed for good: %s", item.id, item.channel, failure.code)
            self.store.give_up(item, "failed", failure.code)
            return Outcome.SETTLED
        self.store.mark_sent(item.id, ts, self.clock())
        DIGESTS_UPDATED.inc()
        return Outcome.POSTED

    def _post(self, item: OutboxItem, thread_ts: str | None = None) -> Outcome:
        try:
            response = self.client.chat_postMessage(
                channel=item.channel,
                text=item.text,
                blocks=item.blocks,
                metadata={"event_type": EVENT_TYPE, "event_payload": {"outbox_key": item.key}},
                unfurl_links=False,
                thread_ts=thread_ts,  # None: not in a thread (the SDK leaves it out)
            )
        except SLACK_FAILURES as error:
            failure = failure_of(error)
            if thread_ts and failure.code in MESSAGE_GONE and item.message_key:
                # The message was deleted since its last edit: the news goes on its own, and
                # becomes the message (the next edit shows everything again).
                log.info(
                    "outbox %s: the thread of %s is gone; posting on its own", item.id, thread_ts
                )
                self.store.message_gone(item.message_key, thread_ts)
                return self._post(item, None)
            if not failure.permanent:
                self._retry(item, failure, "posting")
                return Outcome.WAIT
            log.warning("outbox %s to %s failed for good: %s", item.id, item.channel, failure.code)
            self.store.give_up(item, "failed", failure.code)
            return Outcome.SETTLED
        ts = str(response.get("ts"))
        self._mark_posted(item, ts, in_thread=thread_ts is not None)
        DIGESTS_POSTED.inc()
        if item.chart and self.draw_chart is not None:
            # After mark_sent: a failed chart is logged and never re-posts the digest.
            channel = str(response.get("channel") or item.channel)
            self._post_chart(self.draw_chart, channel, thread_ts or ts, item.chart)
        return Outcome.POSTED

    def _post_chart(
        self, draw: ChartDrawer, channel: str, thread_ts: str, spec: Mapping[str, Any]
    ) -> bool:
        """Draw a digest's chart and share it in the digest's thread. Returns whether it was
        posted; failures are logged only: the digest itself is already out."""
        try:
            png = draw(spec)
        except Exception:
            log.exception("drawing a digest chart for %s failed", channel)
            return False
        try:
            upload_png(self.client, png, channel, thread_ts=thread_ts)
        except UploadError as error:
            log.warning("the digest chart was not posted in %s: %s", channel, error)
            return False
        return True

    def _retry(self, item: OutboxItem, failure: Failure, doing: str) -> None:
        wait = (
            timedelta(seconds=failure.retry_after)
            if failure.retry_after is not None
            else backoff(item.attempts, self.tick)
        )
        log.warning(
            "outbox %s to %s: %s failed (%s); trying again in %.0f s",
            item.id, item.channel, doing, failure.code, wait.total_seconds(),
        )  # fmt: skip
        self.store.retry_later(
            item, failure.code, self.clock() + wait, maybe_posted=failure.maybe_posted
        )

    def _expire(self, item: OutboxItem, now: datetime) -> Outcome:
        age = now - item.created_at
        log.error(
            "outbox %s to %s expired undelivered after %s and %d attempt(s); last error: %s",
            item.id, item.channel, age, item.attempts - 1, item.last_error,
        )  # fmt: skip
        self.store.give_up(item, "expired", f"expired after {age}; last error: {item.last_error}")
        DIGESTS_EXPIRED.inc()
        return Outcome.SETTLED

    def _find_posted(
        self, item: OutboxItem, since: datetime, thread_ts: str | None = None
    ) -> str | None:
        """The ts of the message carrying the row's key, if the channel (or the thread of
        `thread_ts`) shows it since `since`."""
        oldest = (since - HISTORY_MARGIN).timestamp()
        cursor: str | None = None
        try:
            while True:
                page: Any = (
                    self.client.conversations_replies(
                        channel=item.channel,
                        ts=thread_ts,
                        oldest=f"{oldest:.6f}",
                        include_all_metadata=True,
                        limit=200,
                        cursor=cursor,
                    )
                    if thread_ts
                    else self.client.conversations_history(
                        channel=item.channel,
                        oldest=f"{oldest:.6f}",
                        include_all_metadata=True,
                        limit=200,
                        cursor=cursor,
                    )
                )
                for message in page.get("messages", []):
                    payload = (message.get("metadata") or {}).get("event_payload") or {}
                    if payload.get("outbox_key") == item.key:
                        return str(message.get("ts"))
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not page.get("has_more") or not cursor:
                    return None
        except SLACK_FAILURES as error:
            failure = failure_of(error)
            if thread_ts and failure.code in MESSAGE_GONE:
                return None  # no thread, so nothing posted in it
            if not failure.permanent:
                raise Unanswered(failure) from error
            # Without history we cannot tell; posting again risks a duplicate, not a loss.
            log.warning("cannot read %s history to check outbox %s: %s", item.channel, item.id,
                        failure.code)  # fmt: skip
            return None
