"""FilterLogEvents over a cluster's log groups (`iam-db-auth-error`, `postgresql`): every page,
every stream."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
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
from bot.domain.window import Window

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

DEFAULT_EVENT_CAP = 100_000


def _ms(moment: Any) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class LogScan:
    """Reads events of one window; after iterating, `truncated` says whether the cap stopped it."""

    client: CloudWatchLogsClient
    group: str
    window: Window
    cap: int = DEFAULT_EVENT_CAP
    filter_pattern: str | None = None  # CloudWatch Logs syntax; None reads every event
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


SMALLEST_SLICE = timedelta(minutes=1)
FIRST_SLICE = timedelta(minutes=15)


EventPage = list[tuple[int, str]]  # (timestamp in ms, message) of each event of a page


@dataclass
class NewestRead:
    """Pages (oldest first) holding the newest events of a window, at most `cap` of them."""

    event_pages: list[EventPage]
    truncated: bool
    covered_from: datetime  # events before this were not read

    @property
    def pages(self) -> list[list[str]]:
        """The messages only."""
        return [[message for _, message in page] for page in self.event_pages]


def read_newest(
    client: CloudWatchLogsClient,
    group: str,
    window: Window,
    cap: int,
    filter_pattern: str | None = None,
) -> NewestRead:
    """The newest `cap` events of `window`, for when reading it from the start hit the cap.

    The window is read from its end in slices that double in length (15 min, 30 min, 1 h, …); a
    slice with more events than the budget left is split in halves, the newer half read first, down
    to one minute. So the per-user counts describe the most recent failures, which is what a person
    looking at a busy cluster needs; the metric totals still cover the whole window.
    """
    slices: deque[Window] = deque()
    end, size = window.end, FIRST_SLICE
    while end > window.start:
        start = max(window.start, end - size)
        slices.append(Window(start, end))
        end, size = start, size * 2
    chunks: list[list[EventPage]] = []
    budget, covered_from = cap, window.end
    while slices and budget > 0:
        piece = slices.popleft()
        scan = LogScan(client, group, piece, budget, filter_pattern)
        pages = list(scan.event_pages())
        if scan.truncated and piece.duration > SMALLEST_SLICE:
            middle = piece.start + (piece.duration / 2)
            slices.appendleft(Window(piece.start, middle))
            slices.appendleft(Window(middle, piece.end))
            continue
        chunks.append(pages)
        budget -= scan.events
        covered_from = piece.start
        if scan.truncated:
            return NewestRead(_oldest_first(chunks), True, covered_from)
    truncated = False
    if slices and budget <= 0:
        # With no budget left, a scan of the rest yields nothing but says whether anything is there.
        probe = LogScan(client, group, Window(window.start, slices[0].end), 0, filter_pattern)
        for _ in probe.event_pages():
            pass
        truncated = probe.truncated
    return NewestRead(_oldest_first(chunks), truncated, covered_from)


def _oldest_first(chunks: list[list[EventPage]]) -> list[EventPage]:
    return [page for pages in reversed(chunks) for page in pages]


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


def read_window(
    client: CloudWatchLogsClient,
    group: str,
    window: Window,
    cap: int,
    new_sink: Callable[[], Sink],
    filter_pattern: str | None = None,
) -> WindowRead[Sink]:
    """Feed every event of `window` to a sink, a page at a time (with the events' own times, to a
    sink that takes them). Past `cap` events, a fresh sink gets the newest `cap` instead
    (read_newest). Raises LogGroupMissing."""
    sink = new_sink()
    scan = LogScan(client, group, window, cap, filter_pattern)
    for page in scan.event_pages():
        _feed(sink, page)
    if not scan.truncated:
        return WindowRead(sink, False, None)
    newest = read_newest(client, group, window, cap, filter_pattern)
    sink = new_sink()
    for page in newest.event_pages:
        _feed(sink, page)
    return WindowRead(sink, newest.truncated, newest.covered_from if newest.truncated else None)
