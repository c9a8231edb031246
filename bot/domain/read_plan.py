"""Plan a newest-first read of a log window: which slices to read so that the newest `cap` events
are read, each event at most once, with as few calls and as few extra events as the counts allow.

The counts are the window's `IamDbAuthConnectionFailure` data points (one per metric period),
fetched before the log is read. They only steer: a slice is sized so that its expected events
just cover what is still needed; whatever the slice really holds is what is kept. Counts that are
late, missing or wrong cost calls or extra events, never the answer: the result is always exactly
the newest `cap` events, and `truncated` / `covered_from` say what was read.

Times are integer milliseconds since the epoch (FilterLogEvents' unit); slices are `[start, end)`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.domain.metrics import METRICS_DELAY, MetricsReport

FAILURE_METRIC = "IamDbAuthConnectionFailure"
# With no counts and nothing read yet: read the newest minute first, then learn the rate from it.
FIRST_SLICE_MS = 60_000
# Where no count covers the time, a slice reaches at most this many times what was covered so far
# into it: a quiet newest stretch must not send one read over a much busier older one.
GROWTH = 16
# A slice aims this much over what is still needed: a slightly long slice costs a few extra
# events, a short one costs another call.
MARGIN = 0.05

Event = tuple[int, str]  # (timestamp in ms, message)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def epoch_ms(moment: datetime) -> int:
    """Exact milliseconds since the epoch (no float rounding)."""
    return (moment - _EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


@dataclass(frozen=True)
class EventCounts:
    """Events per period: `counts[i]` is the number in `[origin + i·period, origin + (i+1)·period)`.

    Only the buckets in `counts` are known; later ones (metrics arrive minutes late) are not.
    """

    origin_ms: int
    period_ms: int
    counts: tuple[float, ...]

    @property
    def known_until_ms(self) -> int:
        return self.origin_ms + self.period_ms * len(self.counts)

    def bucket(self, ms: int) -> int:
        return (ms - self.origin_ms) // self.period_ms


def counts_from_report(
    report: MetricsReport, read_at: datetime | None = None, metric: str = FAILURE_METRIC
) -> EventCounts | None:
    """The failure counts per period of a metrics report, known up to the newest period holding a
    point of any IamDbAuth* metric (a period with requests but no failure point had none) and, when
    the report was fetched at `read_at`, not within METRICS_DELAY of it: such a period's point may
    still grow. None when the report has no point at all (no counts: the read learns the rate as
    it goes)."""
    newest = max((s.timestamps[-1] for s in report.series.values() if s.timestamps), default=None)
    if newest is None or report.period <= 0:
        return None
    origin_ms, period_ms = epoch_ms(report.start), report.period * 1000
    known = max(0, (epoch_ms(newest) - origin_ms) // period_ms + 1)
    if read_at is not None:
        settled = (epoch_ms(read_at - METRICS_DELAY) - origin_ms) // period_ms
        known = max(0, min(known, settled))
    counts = [0.0] * known
    series = report.series.get(metric)
    if series is not None:
        for moment, value in zip(series.timestamps, series.values, strict=True):
            index = (epoch_ms(moment) - origin_ms) // period_ms
            if 0 <= index < known:
                counts[index] += value
    return EventCounts(origin_ms, period_ms, tuple(counts))


@dataclass
class Planner:
    """Chooses the next slice, newest first, from the counts and from what was read so far."""

    start_ms: int
    end_ms: int
    counts: EventCounts | None = None
    until_ms: int = field(init=False)  # everything in [until_ms, end_ms) was read
    read: int = 0  # events read so far
    history: list[tuple[int, int]] = field(default_factory=list)  # slices read, newest first
    _read_in_bucket: dict[int, int] = field(default_factory=dict)
    _last_len: int = 0
    _last_missed: bool = False  # the last slice held under half of what it was expected to

    def __post_init__(self) -> None:
        self.until_ms = self.end_ms

    @property
    def done(self) -> bool:
        return self.until_ms <= self.start_ms

    def next_slice(self, need: int) -> tuple[int, int]:
        """The slice `[a, until_ms)` expected to hold a little over `need` events."""
        until = self.until_ms
        target = need * (1 + MARGIN) + 1
        start = self._walk_back(target)
        # Where no count covers the time (no counts, or periods not published yet: a spike that
        # began minutes ago is there), read the newest minute first, then grow by GROWTH at most.
        unknown_from = self.counts.known_until_ms if self.counts else self.start_ms
        covered = self.end_ms - until
        longest = FIRST_SLICE_MS if covered == 0 else GROWTH * covered
        if until - longest > unknown_from:
            start = max(start, until - longest)
        if self._last_missed:
            # The estimate was far too high: grow at least geometrically, so wrong counts cost
            # a few calls, not one per millisecond.
            start = min(start, until - 2 * self._last_len)
        start = min(max(start, self.start_ms), until - 1)
        return start, until

    def expected(self, a: int, b: int) -> float:
        """Events expected in `[a, b)`, a part of what is not read yet."""
        return sum(
            density * (min(hi, b) - max(lo, a))
            for lo, hi, density in self._pieces(b)
            if lo < b and hi > a
        )

    def record(self, a: int, b: int, got: int, timestamps: Iterable[int]) -> None:
        """Slice `[a, b)` (the newest unread one) was read and held `got` events, at these times
        (all of them, or only the newest when the read stops there)."""
        assert b == self.until_ms
        assert a < b
        expected = self.expected(a, b)
        counts = self.counts
        if counts is not None:
            for ms in timestamps:
                index = counts.bucket(ms)
                self._read_in_bucket[index] = self._read_in_bucket.get(index, 0) + 1
        self.history.append((a, b))
        self.read += got
        self.until_ms = a
        self._last_len = b - a
        self._last_missed = got < expected / 2

    # The estimate --------------------------------------------------------------------------
    def _walk_back(self, target: float) -> int:
        """The earliest start whose slice to `until_ms` is expected to hold at most `target`."""
        total = 0.0
        for lo, hi, density in reversed(self._pieces(self.until_ms)):
            if density > 0 and total + density * (hi - lo) >= target:
                return math.floor(hi - (target - total) / density)
            total += density * (hi - lo)
        return self.start_ms

    def _pieces(self, until: int) -> list[tuple[int, int, float]]:
        """[start_ms, until) cut into pieces of constant expected density (events per ms),
        oldest first."""
        counts, rate = self.counts, self._rate()
        if counts is None:
            return [(self.start_ms, until, rate)] if until > self.start_ms else []
        pieces: list[tuple[int, int, float]] = []
        lo = self.start_ms
        if lo < counts.origin_ms:
            pieces.append((lo, min(until, counts.origin_ms), rate))
            lo = counts.origin_ms
        while lo < min(until, counts.known_until_ms):
            index = counts.bucket(lo)
            bucket_start = counts.origin_ms + index * counts.period_ms
            bucket_end = bucket_start + counts.period_ms
            hi = min(until, bucket_end)
            # The count is of the whole period, also of any part outside the window; what was
            # read of it is taken off, the rest spread over the part not read.
            read_part = max(0, min(bucket_end, self.end_ms) - max(bucket_start, self.until_ms))
            got = self._read_in_bucket.get(index, 0)
            left = counts.counts[index] - got
            # More read than the period's count: the count is wrong; go by the rate seen.
            density = (
                rate if (left <= 0 and got) else max(left, 0.0) / (counts.period_ms - read_part)
            )
            pieces.append((lo, hi, density))
            lo = hi
        if lo < until:
            pieces.append((lo, until, rate))  # after the newest known period: metrics lag
        return pieces

    def _rate(self) -> float:
        """Events per ms where no count says: the rate read so far, else that of the newest
        known periods, else 0 (no counts: slices then grow by GROWTH)."""
        covered = self.end_ms - self.until_ms
        if self.read and covered:
            return self.read / covered
        counts = self.counts
        if counts is not None and counts.counts:
            return max(counts.counts[-3:]) / counts.period_ms
        return 0.0


@dataclass
class NewestEvents:
    """The newest events of a window, oldest first, and what the read cost."""

    events: list[Event]
    truncated: bool  # some event of the window was not kept
    # When truncated: every event after this moment was kept, none before it (events at this very
    # millisecond may be partly kept, when several share the millisecond where the cap fell).
    covered_from_ms: int | None
    slices: list[tuple[int, int]]  # read, newest first
    events_read: int


SliceReader = Callable[[int, int], Iterable[Sequence[Event]]]  # pages of `[a, b)`


def read_newest_events(
    start_ms: int,
    end_ms: int,
    cap: int,
    read_slice: SliceReader,
    any_event: Callable[[int, int], bool],
    counts: EventCounts | None = None,
) -> NewestEvents:
    """The newest `cap` events of `[start_ms, end_ms)`: planned slices read newest first, each
    wholly and once, until `cap` events are held; the overshoot of the last slice (its oldest
    events) is dropped. `any_event(a, b)` says whether `[a, b)` holds an event (asked at most
    once, of the unread rest, when the cap was met exactly at a slice's start)."""
    planner = Planner(start_ms, end_ms, counts)
    chunks: list[list[Event]] = []  # one per slice, newest slice first
    kept = read = 0
    dropped = False
    while kept < cap and not planner.done:
        need = cap - kept
        a, b = planner.next_slice(need)
        chunk: list[Event] = []
        seen = 0
        for page in read_slice(a, b):
            chunk.extend(page)
            seen += len(page)
            if len(chunk) >= 2 * need + 10_000:
                chunk = _newest(chunk, need)  # bounded memory whatever the slice holds
        planner.record(a, b, seen, (ms for ms, _ in chunk))
        read += seen
        if seen > need:
            chunk, dropped = _newest(chunk, need), True
        else:
            chunk.sort(key=_time)
        chunks.append(chunk)
        kept += len(chunk)
    slices_read = planner.history
    events = [event for chunk in reversed(chunks) for event in chunk]
    if dropped:
        return NewestEvents(events, True, events[0][0], slices_read, read)
    if kept >= cap and not planner.done and any_event(start_ms, planner.until_ms):
        return NewestEvents(events, True, planner.until_ms, slices_read, read)
    return NewestEvents(events, False, None, slices_read, read)


def _time(event: Event) -> int:
    return event[0]


def _newest(events: list[Event], n: int) -> list[Event]:
    """The newest `n` events, oldest first (ties kept in the order read)."""
    events.sort(key=_time)
    return events[len(events) - n :] if n else []
