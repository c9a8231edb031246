"""Thresholds and the alert state machine: (state, observation, now) → (state, notice).

Pure: no clock (time is passed in), no I/O. One state per (watch, family):

    ok ──breach──▶ firing (notify) ──still breaching──▶ firing (notify again after `repeat`,
     ▲                 │                                 or when the count at least doubles)
     └──no breach──────┘ (notify "resolved" if it was notified and `send_resolved`; under a
                          silence that notice is owed, the state `ok` with the episode kept)

A silence mutes, it does not stop the evaluation: a silenced watch still moves between states but
sends nothing. What it held back is sent at the first tick after the silence ends: a firing alert
nobody heard of is announced then, and an announced alert that ended during the silence gets its
resolved notice then (not during the silence), so the channel's last word is never a stale
"firing". Should it breach again before that, the channel never heard it end: the announced
episode goes on (repeats and escalations as usual), no second "firing".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.domain.records import Family
from bot.domain.window import format_duration

DEFAULT_REPEAT = timedelta(hours=4)
StateKey = tuple[str, Family]  # (watch key, family): one alert state each


@dataclass(frozen=True)
class Threshold:
    """Breach when `count` or more failures of `family` happen within `window`, in at least
    `breaching` of the last `periods` windows (M of N, as CloudWatch alarms do)."""

    family: Family
    count: int
    window: timedelta
    periods: int = 1
    breaching: int = 1

    @property
    def lookback(self) -> timedelta:
        return self.window * self.periods

    def describe(self) -> str:
        text = f"≥ {self.count} in {format_duration(self.window)}"
        if self.periods > 1:
            text += f" ({self.breaching} of {self.periods} windows)"
        return text


@dataclass(frozen=True)
class Observation:
    """What the metrics said for one threshold at one tick."""

    counts: tuple[int, ...]  # failures per window, oldest first; the last is the latest window
    breaching: bool
    window_end: datetime

    @property
    def count(self) -> int:
        return self.counts[-1] if self.counts else 0


def observe(threshold: Threshold, counts: list[int], window_end: datetime) -> Observation:
    """Decide whether `counts` (one per window, oldest first, `threshold.periods` of them) breach."""
    breaching_windows = sum(1 for c in counts if c >= threshold.count)
    return Observation(tuple(counts), breaching_windows >= threshold.breaching, window_end)


class Status(enum.StrEnum):
    OK = "ok"
    FIRING = "firing"


class NoticeKind(enum.StrEnum):
    FIRING = "firing"
    REPEAT = "still firing"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


# Notices whose digest carries a chart of the family's recent history.
CHARTED = frozenset({NoticeKind.FIRING, NoticeKind.ESCALATED})


@dataclass(frozen=True)
class AlertState:
    status: Status = Status.OK
    since: datetime | None = None  # when it started firing
    notified_at: datetime | None = None  # last notice sent for this episode
    notified_count: int = 0  # the count that notice reported
    peak: int = 0
    # Who acknowledged this episode since its last notice, and when (None: nobody).
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    # The message announcing this episode (edited in place as it changes), once one was made for
    # it: kept through the episode, gone with it.
    message: str | None = None

    @property
    def announced(self) -> bool:
        """The channel was told this episode is firing and has not been told it ended."""
        return self.notified_at is not None

    @property
    def resolution_owed(self) -> bool:
        """Announced, then ended during a silence: the resolved notice waits for its end.
        (Stored as `ok` with the episode's fields kept: a version without this reads it as ok.)"""
        return self.status is Status.OK and self.announced


@dataclass(frozen=True)
class Notice:
    kind: NoticeKind
    family: Family
    count: int
    threshold: Threshold
    since: datetime | None
    window_end: datetime
    previous_count: int = 0


def step(
    state: AlertState,
    threshold: Threshold,
    observation: Observation,
    now: datetime,
    *,
    repeat: timedelta = DEFAULT_REPEAT,
    send_resolved: bool = True,
    silenced: bool = False,
) -> tuple[AlertState, Notice | None]:
    count = observation.count

    def notice(kind: NoticeKind, since: datetime | None) -> Notice:
        return Notice(
            kind,
            threshold.family,
            count,
            threshold,
            since,
            observation.window_end,
            state.notified_count,
        )

    if observation.breaching:
        if state.status is Status.OK and not state.resolution_owed:
            # "since" is in metric time: the end of the first window seen breaching.
            firing = AlertState(Status.FIRING, since=observation.window_end, peak=count)
            if silenced:
                return firing, None
            return replace(firing, notified_at=now, notified_count=count), notice(
                NoticeKind.FIRING, firing.since
            )
        # Firing, or breaching again before the channel heard it end: the same episode to it.
        episode = replace(state, status=Status.FIRING, peak=max(state.peak, count))
        if silenced:
            return episode, None
        kind: NoticeKind | None = None
        if episode.notified_at is None:
            kind = NoticeKind.FIRING  # fired while silenced: nobody has heard of it yet
        elif episode.notified_count > 0 and count >= 2 * episode.notified_count:
            kind = NoticeKind.ESCALATED
        elif now - episode.notified_at >= repeat and episode.acknowledged_by is None:
            kind = NoticeKind.REPEAT
        if kind is None:
            return episode, None
        notified = replace(
            episode,
            notified_at=now,
            notified_count=count,
            acknowledged_by=None,
            acknowledged_at=None,
        )
        return notified, notice(kind, episode.since)
    if state.status is Status.FIRING or state.resolution_owed:
        if not (send_resolved and state.announced):
            return AlertState(), None
        if silenced:  # a silence mutes: the resolved notice is owed until it ends
            return replace(state, status=Status.OK), None
        return AlertState(), notice(NoticeKind.RESOLVED, state.since)
    return state, None
