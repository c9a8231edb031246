"""FilterLogEvents over a cluster's log groups (`iam-db-auth-error`, `postgresql`): every page,
every stream."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, runtime_checkable

from bot.adapters.aws.errors import (
    ACCESS_DENIED_CODES,
    BOTOCORE_ERRORS,
    AccessDenied,
    AwsError,
    LogGroupMissing,
    aws_error,
    error_code,
)
from bot.domain.read_plan import Event, EventCounts, epoch_ms, from_ms, read_newest_events
from bot.domain.window import Window

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

DEFAULT_EVENT_CAP = 100_000


def _ms(moment: datetime) -> int:
    return epoch_ms(moment)  # exact: a float timestamp can land a millisecond short


@dataclass
class LogScan:
    """Reads events of one window; after iterating, `truncated` says whether the cap stopped it."""

    client: CloudWatchLogsClient
    group: str
    window: Window
    cap: int = DEFAULT_EVENT_CAP
    filter_pattern: str | None = None  # CloudWatch Logs syntax; None reads every event
    limit: int | None = None  # events per page at most (FilterLogEvents' `limit`)
    truncated: bool = False
    pages_read: int = 0
    events: int = 0

    def __iter__(self) -> Iterator[tuple[int, str]]:
        """Yield (timestamp in ms, message) until no nextToken is left or `cap` events were read."""
        for page in self.event_pages():
            yield from page

    def pages(self) -> Iterator[list[str]]:
        """The messages, a FilterLogEvents page at a time (for FailureSummary.add_lines)."""
        for page in self.event_pages():
            yield [message for _, message in page]

    def event_pages(self) -> Iterator[list[tuple[int, str]]]:
        kwargs: dict[str, Any] = {
            "logGroupName": self.group,
            "startTime": _ms(self.window.start),
            # FilterLogEvents' endTime is inclusive; our windows are [start, end).
            "endTime": _ms(self.window.end) - 1,
        }
        if self.filter_pattern:
            kwargs["filterPattern"] = self.filter_pattern
        if self.limit:
            kwargs["limit"] = self.limit
        while True:
            try:
                page = self.client.filter_log_events(**kwargs)
            except BOTOCORE_ERRORS as error:
                raise _translate(error, self.group) from None
            self.pages_read += 1
            events = [(e.get("timestamp", 0), e.get("message", "")) for e in page.get("events", [])]
            room = self.cap - self.events
            if len(events) > room:
                self.truncated = True
                events = events[:room]
            self.events += len(events)
            if events:
                yield events
            # A page can be empty while nextToken is still given: only its absence ends the scan.
            token = page.get("nextToken")
            if self.truncated or not token:
                return
            kwargs["nextToken"] = token


def _translate(error: Exception, group: str) -> AwsError:
    code = error_code(error)
    if code == "ResourceNotFoundException":
        return LogGroupMissing(f"The log group `{group}` does not exist.")
    if code in ACCESS_DENIED_CODES:
        return AccessDenied(f"The bot may not call logs:FilterLogEvents on `{group}`.")
    return aws_error(error, "CloudWatch Logs", "logs:FilterLogEvents")


EventPage = list[Event]  # (timestamp in ms, message) of each event of a page
PAGE = 10_000  # events per page handed to a sink (FilterLogEvents' own largest page)


@dataclass
class NewestRead:
    """Pages (oldest first) holding the newest events of a window, at most `cap` of them."""

    event_pages: list[EventPage]
    truncated: bool
    covered_from: datetime  # events before this were not read
    calls: int = 0  # FilterLogEvents calls made
    events_read: int = 0  # events those calls returned (kept or not)

    @property
    def pages(self) -> list[list[str]]:
        """The messages only."""
        return [[message for _, message in page] for page in self.event_pages]


@dataclass
class _SliceReads:
    """FilterLogEvents over slices of one group, counting the calls."""

    client: CloudWatchLogsClient
    group: str
    filter_pattern: str | None
    calls: int = 0

    def pages(self, start_ms: int, end_ms: int) -> Iterator[EventPage]:
        """Every event of `[start_ms, end_ms)`, a page at a time."""
        piece = Window(from_ms(start_ms), from_ms(end_ms))
        scan = LogScan(self.client, self.group, piece, sys.maxsize, self.filter_pattern)
        try:
            yield from scan.event_pages()
        finally:
            self.calls += scan.pages_read

    def any_event(self, start_ms: int, end_ms: int) -> bool:
        """Whether `[start_ms, end_ms)` holds an event: pages of one event at most."""
        piece = Window(from_ms(start_ms), from_ms(end_ms))
        probe = LogScan(self.client, self.group, piece, 0, self.filter_pattern, limit=1)
        for _ in probe.event_pages():
            pass
        self.calls += probe.pages_read
        return probe.truncated


def read_newest(
    client: CloudWatchLogsClient,
    group: str,
    window: Window,
    cap: int,
    filter_pattern: str | None = None,
    counts: EventCounts | None = None,
) -> NewestRead:
    """The newest `cap` events of `window` (all of them if fewer), each read once.

    The window is read from its end in slices planned from `counts` (events per metric period,
    bot/domain/read_plan.py): each slice is sized to just cover the events still needed, read
    wholly, and the oldest overshoot of the last one dropped. Without counts the first slice is
    the newest minute and the rate read so far sizes the next. So the per-user counts describe
    the most recent failures, which is what a person looking at a busy cluster needs; the metric
    totals still cover the whole window.
    """
    reads = _SliceReads(client, group, filter_pattern)
    newest = read_newest_events(
        epoch_ms(window.start), epoch_ms(window.end), cap, reads.pages, reads.any_event, counts
    )
    events = newest.events
    pages = [events[i : i + PAGE] for i in range(0, len(events), PAGE)]
    covered = newest.covered_from_ms
    return NewestRead(
        pages,
        newest.truncated,
        from_ms(covered) if covered is not None else window.start,
        reads.calls,
        newest.events_read,
    )


class LineSink(Protocol):
    def add_lines(self, lines: Sequence[str]) -> None: ...


@runtime_checkable
class TimedLineSink(Protocol):
    """A sink that also takes each event's own time (ms since the epoch), for lines that carry
    no timestamp of their own (FailureSummary)."""

    def add_timed_lines(self, lines: Sequence[str], times: Sequence[int]) -> None: ...


def _feed(sink: LineSink, page: EventPage) -> None:
    lines = [message for _, message in page]
    if isinstance(sink, TimedLineSink):
        sink.add_timed_lines(lines, [timestamp for timestamp, _ in page])
    else:
        sink.add_lines(lines)


Sink = TypeVar("Sink", bound=LineSink)


@dataclass
class WindowRead(Generic[Sink]):
    sink: Sink
    truncated: bool
    covered_from: datetime | None  # when truncated: events before this were not read
    calls: int = 0  # FilterLogEvents calls made
    events_read: int = 0  # events they returned, kept or not


def read_window(
    client: CloudWatchLogsClient,
    group: str,
    window: Window,
    cap: int,
    new_sink: Callable[[], Sink],
    filter_pattern: str | None = None,
    counts: EventCounts | None = None,
) -> WindowRead[Sink]:
    """Feed the newest `cap` events of `window` (every event, when there are no more) to a sink,
    oldest first, a page at a time (with the events' own times, to a sink that takes them). The
    slices are planned from `counts` when given (read_newest): no event is read twice. Raises
    LogGroupMissing."""
    sink = new_sink()
    newest = read_newest(client, group, window, cap, filter_pattern, counts)
    for page in newest.event_pages:
        _feed(sink, page)
    covered_from = newest.covered_from if newest.truncated else None
    return WindowRead(sink, newest.truncated, covered_from, newest.calls, newest.events_read)
