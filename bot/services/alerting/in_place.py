"""Stage 5, pure: one Slack message per alert episode, edited in place as it changes.

The clusters that start firing in a channel at one tick are announced together in a new message
(at most PARTS_PER_MESSAGE, one part each), and each of their alert states names it. From then on
what happens to an episode goes on that message: its part is re-rendered and the message edited
(an UPDATE row, chat.update), and escalations, repeats, new families and the resolution are also
told in its thread (a REPLY row, the digest as before), so the channel shows each alert's current
state once and its history under it. A part whose counts changed without news is refreshed at most
every REFRESH_EVERY. Every row goes through the outbox in the tick's transaction, so each change
is delivered once (bot/adapters/slack/outbox_delivery.py); an edit is idempotent, and a message a
person deleted is posted again by its next edit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.adapters.store.repo import POST, REPLY, UPDATE, AlertMessage, Digest, MessagePart
from bot.domain.alerts import AlertState, Notice, NoticeKind, StateKey, Status
from bot.domain.watches import Watch
from bot.services.alerting.evaluate import Evaluation
from bot.services.alerting.group import ChannelDigest, ClusterNotices
from bot.services.alerting.ports import MessageView, RenderDigest

PARTS_PER_MESSAGE = 10  # clusters per message: 4 blocks each, within Block Kit's 50
REFRESH_EVERY = timedelta(minutes=5)  # a message's counts, when nothing else changed


def open_message(watch: Watch, states: Mapping[StateKey, AlertState]) -> str | None:
    """The message announcing `watch`'s current episode (of any family), if one was made."""
    for threshold in watch.thresholds:
        state = states.get((watch.key, threshold.family))
        if (
            state is not None
            and state.message
            and (state.status is Status.FIRING or state.announced)
        ):
            return state.message
    return None


@dataclass
class Outgoing:
    """What a tick writes: outbox rows in order, the messages as they will show, and the alert
    states (the evaluation's, with the message of each new episode)."""

    digests: list[Digest] = field(default_factory=list)
    messages: list[AlertMessage] = field(default_factory=list)
    states: dict[StateKey, AlertState] = field(default_factory=dict)


@dataclass(frozen=True)
class InPlace:
    render: RenderDigest
    view: MessageView
    new_key: Callable[[], str]

    def outgoing(
        self,
        digests: Sequence[ChannelDigest],
        messages: Mapping[str, AlertMessage],
        watches: Sequence[Watch],
        before: Mapping[StateKey, AlertState],
        evaluation: Evaluation,
        end: datetime,
        now: datetime,
    ) -> Outgoing:
        out = Outgoing(states=dict(evaluation.changed))
        after = {**before, **evaluation.changed}
        by_place = {(w.channel, w.cluster): w for w in watches}
        touched: set[str] = set()
        for digest in digests:
            message = messages.get(digest.message) if digest.message else None
            items = [(by_place[(digest.channel, i.cluster)], i) for i in digest.listed()]
            if message is None:
                self._announce(out, digest, items, end, now)
            else:
                touched.add(message.key)
                self._go_on(out, message, digest, items, after, end, now)
        watch_of = {w.key: w for w in watches}
        for key in sorted({s.message for s in after.values() if s.message} - touched):
            message = messages.get(key)
            if message is not None and now - message.updated_at >= REFRESH_EVERY:
                self._refresh(out, message, watch_of, after, evaluation, end, now)
        return out

    def _announce(
        self,
        out: Outgoing,
        digest: ChannelDigest,
        items: Sequence[tuple[Watch, ClusterNotices]],
        end: datetime,
        now: datetime,
    ) -> None:
        """A message of its own for each PARTS_PER_MESSAGE of the clusters; their new episodes
        name it."""
        for first in range(0, len(items), PARTS_PER_MESSAGE):
            chunk = items[first : first + PARTS_PER_MESSAGE]
            key = self.new_key()
            text, blocks = self.render([item for _, item in chunk], end)
            # The digest's chart goes with the message showing its cluster.
            shown = {item.cluster for _, item in chunk}
            chart = (
                digest.chart.to_json() if digest.chart and digest.chart.cluster in shown else None
            )
            out.digests.append(Digest(digest.channel, text, blocks, chart, POST, key))
            parts = tuple(
                MessagePart(watch.key, _counts({}, item.notices), self.view.part(item, None, None))
                for watch, item in chunk
            )
            out.messages.append(AlertMessage(key, digest.channel, parts, end, now))
            for watch, item in chunk:
                _name_message(out.states, watch, item.notices, key)

    def _go_on(
        self,
        out: Outgoing,
        message: AlertMessage,
        digest: ChannelDigest,
        items: Sequence[tuple[Watch, ClusterNotices]],
        after: Mapping[StateKey, AlertState],
        end: datetime,
        now: datetime,
    ) -> None:
        """The message edited with the news, and the news told in its thread."""
        news = {watch.key: (watch, item) for watch, item in items}
        parts = [
            self._part(part, *news.pop(part.watch_key), after) if part.watch_key in news else part
            for part in message.parts
        ]
        parts += [  # an episode of a cluster the message did not show (should not happen)
            self._part(MessagePart(w.key, {}, {}), w, i, after) for w, i in news.values()
        ]
        self._edit(out, message, parts, end, now)
        text, blocks = self.render([item for _, item in items], end)
        chart = digest.chart.to_json() if digest.chart else None
        out.digests.append(Digest(digest.channel, text, blocks, chart, REPLY, message.key))
        for watch, item in items:
            _name_message(out.states, watch, item.notices, message.key)

    def _refresh(
        self,
        out: Outgoing,
        message: AlertMessage,
        watch_of: Mapping[str, Watch],
        after: Mapping[StateKey, AlertState],
        evaluation: Evaluation,
        end: datetime,
        now: datetime,
    ) -> None:
        """The message edited where a firing family's count moved since it was last shown."""
        parts, changed = [], False
        for part in message.parts:
            watch = watch_of.get(part.watch_key)
            if watch is None:
                parts.append(part)
                continue
            moved = _moved(part, watch, after, evaluation, message.key, end)
            # An acknowledgement the message does not show (its click's own edit may have lost
            # a race with a tick's) is shown again too.
            acked = _ack(watch, after)
            if moved or (acked[0] if acked else None) != part.acknowledged_by:
                part = self._part(part, watch, ClusterNotices(watch.cluster, moved), after)
                changed = True
            parts.append(part)
        if changed:
            self._edit(out, message, parts, end, now)

    def _part(
        self,
        part: MessagePart,
        watch: Watch,
        item: ClusterNotices,
        after: Mapping[StateKey, AlertState],
    ) -> MessagePart:
        acked = _ack(watch, after)
        view = self.view.part(item, part.view, acked)
        counts = _counts(part.counts, item.notices)
        return MessagePart(part.watch_key, counts, view, acked[0] if acked else None)

    def _edit(
        self,
        out: Outgoing,
        message: AlertMessage,
        parts: Sequence[MessagePart],
        end: datetime,
        now: datetime,
    ) -> None:
        text, blocks = self.view.message([p.view for p in parts], end)
        out.digests.append(Digest(message.channel, text, blocks, None, UPDATE, message.key))
        out.messages.append(replace(message, parts=tuple(parts), evaluated_to=end, updated_at=now))


def _counts(shown: Mapping[str, int], notices: Iterable[Notice]) -> dict[str, int]:
    """The count of each family a part shows after `notices`: a resolved family none."""
    counts = dict(shown)
    for notice in notices:
        if notice.kind is NoticeKind.RESOLVED:
            counts.pop(notice.family.value, None)
        else:
            counts[notice.family.value] = notice.count
    return counts


def _name_message(
    states: dict[StateKey, AlertState], watch: Watch, notices: Iterable[Notice], key: str
) -> None:
    """The episodes these notices announce (not those they end) are on message `key`."""
    for notice in notices:
        state_key = (watch.key, notice.family)
        state = states.get(state_key)
        if notice.kind is not NoticeKind.RESOLVED and state is not None and state.message != key:
            states[state_key] = replace(state, message=key)


def _ack(watch: Watch, after: Mapping[StateKey, AlertState]) -> tuple[str, datetime] | None:
    """Who acknowledged the watch's firing alerts, and when (the latest click)."""
    acks = [
        (state.acknowledged_at, state.acknowledged_by)
        for t in watch.thresholds
        if (state := after.get((watch.key, t.family))) is not None
        and state.acknowledged_by
        and state.acknowledged_at
    ]
    if not acks:
        return None
    at, by = max(acks)
    return by, at


def _moved(
    part: MessagePart,
    watch: Watch,
    after: Mapping[StateKey, AlertState],
    evaluation: Evaluation,
    message: str,
    end: datetime,
) -> tuple[Notice, ...]:
    """A notice of the current count of each of the watch's firing families on `message` whose
    count differs from what the part shows (not news: nobody is told, the message changes)."""
    moved = []
    for threshold in watch.thresholds:
        key = (watch.key, threshold.family)
        state, observed = after.get(key), evaluation.observed.get(key)
        if state is None or observed is None or state.message != message:
            continue
        if state.status is Status.FIRING and observed.count != part.counts.get(
            threshold.family.value
        ):
            moved.append(
                Notice(
                    NoticeKind.FIRING, threshold.family, observed.count, threshold, state.since, end
                )
            )
    return tuple(moved)
