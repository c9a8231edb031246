"""Streaming aggregation of failures, bounded in memory whatever the number of events.

Counts by code and family are exact. Database user names come from clients (anyone who can reach the
database can send any name), so at most `max_keys` distinct (user, code) pairs are itemised;
failures beyond that are counted by code in the totals and the reply says how many were not
itemised, instead of guessing.

The hot loop (`add_line`) does one dictionary update per line for the common line shape; the
per-user, per-code and per-family views are derived from those counts when read.

A line with no timestamp of its own (the shape AWS's troubleshooting table prints) takes its
CloudWatch event's time: pass the events' times (ms since the epoch) with the lines.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter

from bot.domain.correlate import IamEvent
from bot.domain.parse import (
    MAX_LINE,
    epoch_second,
    event_time,
    fast_fields,
    parse_line,
    stamp_time,
    valid_second,
)
from bot.domain.records import AuthFailure, Family, family_of

DEFAULT_MAX_KEYS = 5_000
SAMPLES_PER_CODE = 3
UNPARSED_SAMPLES = 3
# The fixed-width start of a standard line: `2025-08-11T04:00:05,804 `.
_STAMP_WIDTH = 24
_STAMP_STANDIN = "2000-01-01T00:00:00,000 "
_TAIL = itemgetter(slice(_STAMP_WIDTH, None))
_STAMP = itemgetter(slice(0, 23))
_SECOND = itemgetter(slice(0, 19))
_MILLIS = itemgetter(slice(19, 24))
_FIRST = itemgetter(slice(0, 1))
# Parsed tails, shared by every summary: the same services fail the same way page after page.
_TAIL_CACHE_SIZE = 20_000
_parsed_tails: dict[str, tuple[str, str, str | None] | None] = {}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def _valid_millis(part: str) -> bool:
    return (
        len(part) == 5
        and part[0] == ","
        and part[4] == " "
        and part[1:4].isascii()
        and part[1:4].isdigit()
    )


def _stamp_ms(stamp: str) -> int:
    """Epoch ms of a line starting `YYYY-MM-DDTHH:MM:SS,mmm` (already checked to be valid)."""
    seconds = epoch_second(stamp[:19])
    assert seconds is not None
    return seconds * 1000 + int(stamp[20:23])


def _has_standard_stamp(line: str) -> bool:
    return valid_second(line[:19]) and _valid_millis(line[19:24])


def _tail_fields(tail: str, width: int) -> tuple[str, str, str | None] | None:
    """(user, code, caller) of a line's rest after a standard timestamp (`width` 24) or of a whole
    line with none (`width` 0, starting with `[`), read as add_line would; None if unparsed.

    Both kinds share one cache of parsed rests (shared by every summary: the same services fail
    the same way page after page): a rest reads the same whether a timestamp precedes it or its
    event gives the time, as long as both lines are within MAX_LINE. The fast path reads most;
    parse_line decides for the others (a failure of another shape, a bare user, or unparsed)."""
    cache = _parsed_tails
    if tail in cache:
        return cache[tail]
    if _STAMP_WIDTH + len(tail) > MAX_LINE:
        if width:
            return None  # over MAX_LINE with its timestamp: unparsed
        # Not cached, it would pin its memory; parse_line (which has its own cap) reads it, with
        # any time: only the fields matter here.
        return _slow_fields(tail)
    full = fast_fields(_STAMP_STANDIN + tail)
    fields = full[1:] if full is not None else _slow_fields(_STAMP_STANDIN + tail)
    if len(cache) >= _TAIL_CACHE_SIZE:
        cache.clear()
    cache[tail] = fields
    return fields


def _slow_fields(line: str) -> tuple[str, str, str | None] | None:
    record = parse_line(line, 0)
    return None if record is None else (record.user, record.code, record.caller_arn)


def _top(counts: Counter[str], n: int) -> list[tuple[str, int]]:
    # Ties broken by name so replies are stable.
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


@dataclass
class BoundedCounter:
    """A Counter that stops adding new keys at `max_keys`; later new keys go to `overflow`."""

    max_keys: int = DEFAULT_MAX_KEYS
    counts: Counter[str] = field(default_factory=Counter)
    overflow: int = 0

    def add(self, key: str, n: int = 1) -> None:
        if key in self.counts or len(self.counts) < self.max_keys:
            self.counts[key] += n
        else:
            self.overflow += n

    def top(self, n: int) -> list[tuple[str, int]]:
        return _top(self.counts, n)


@dataclass
class FailureSummary:
    """What the log says about one window. Feed it with `add_line` (or `add` / `add_unparsed`)."""

    max_keys: int = DEFAULT_MAX_KEYS
    total: int = 0
    unparsed: int = 0
    unparsed_samples: list[str] = field(default_factory=list)
    truncated: bool = False
    covered_from: datetime | None = None  # when truncated: the log was read from here to the end
    # Given a list, every failure is also kept as (time, user, code), for matching to the
    # postgresql log; bounded by the event cap of the read that feeds the summary.
    events: list[IamEvent] | None = None
    samples: dict[str, deque[str]] = field(default_factory=dict)
    callers: BoundedCounter = field(init=False)
    _pairs: dict[tuple[str, str], int] = field(default_factory=dict)
    _overflow: Counter[str] = field(default_factory=Counter)  # by code, beyond max_keys pairs
    _first_stamp: str | None = None  # fast-path lines keep their time as text until read
    _last_stamp: str | None = None
    _first_time: datetime | None = None
    _last_time: datetime | None = None

    def __post_init__(self) -> None:
        self.callers = BoundedCounter(self.max_keys)

    # Feeding ----------------------------------------------------------------------------------
    def add_line(self, line: str, event_ms: int | None = None) -> None:
        """Parse one raw log line and count it, as a failure or as unparsed. `event_ms` is its
        CloudWatch event's time: the failure's time when the line has none of its own."""
        fields = fast_fields(line)
        if fields is None:
            record = parse_line(line, event_ms)
            if record is None:
                self.add_unparsed(line)
                # A truncated line was still seen then: at its own readable timestamp, else at
                # its event's time.
                if _has_standard_stamp(line):
                    self._seen(line[:23], line[:23])
                elif event_ms is not None:
                    self._seen_at(event_ms, event_ms)
            else:
                self.add(record, line)
            return
        stamp, user, code, caller = fields
        self._count(user, code, caller, line)
        self._seen(stamp, stamp)
        if self.events is not None:
            self.events.append(IamEvent(_stamp_ms(stamp), user, code))

    def add_lines(self, lines: Sequence[str], times: Sequence[int] | None = None) -> None:
        """Count a page of lines; the same result as add_line on each, much faster. `times` are
        their CloudWatch events' times (ms since the epoch), one per line, for lines with no
        timestamp of their own.

        Lines of one page mostly differ only in their timestamp, so the text after the fixed-width
        timestamp is counted in C (Counter over slices) and each distinct rest is parsed once. A
        page of lines with no timestamp (each starts with its `[LEVEL]`) is counted the same way,
        whole lines for rests and the events' times for theirs.
        """
        if len(lines) >= 64:
            if self._standard_stamps(lines):
                self._add_page(lines, _STAMP_WIDTH, None)
                return
            if times is not None and len(times) == len(lines) and set(map(_FIRST, lines)) == {"["}:
                self._add_page(lines, 0, times)
                return
        if times is None:
            for line in lines:
                self.add_line(line)
            return
        for line, event_ms in zip(lines, times, strict=True):
            self.add_line(line, event_ms)

    def add_timed_lines(self, lines: Sequence[str], times: Sequence[int]) -> None:
        """add_lines with the events' times (the adapters' TimedLineSink)."""
        self.add_lines(lines, times)

    def _add_page(self, lines: Sequence[str], width: int, times: Sequence[int] | None) -> None:
        """add_lines for a page whose lines all start with a standard timestamp (`width` 24,
        `times` None) or all have none (`width` 0, with their events' `times`)."""
        tails = Counter(map(itemgetter(slice(width, None)), lines) if width else lines)
        parsed: dict[str, tuple[str, str, str | None]] = {}
        odd: set[str] = set()
        cached = _parsed_tails.get
        for tail, n in tails.items():
            # Most rests were parsed on an earlier page, by the fast path: one lookup.
            fields = cached(tail) or _tail_fields(tail, width)
            if fields is None:
                odd.add(tail)
                continue
            parsed[tail] = fields
            user, code, caller = fields
            self._count_many(user, code, caller, n)
        # Every line has a time here (its own or its event's), and every such line counts as seen.
        if times is None:
            self._seen(min(map(_STAMP, lines)), max(map(_STAMP, lines)))
        else:
            self._seen_at(min(times), max(times))
        self._take_samples(lines, parsed, width)
        if self.events is not None:
            self._keep_events(lines, parsed, width, times)
        if odd:
            for line in lines:
                if line[width:] in odd:
                    self.add_unparsed(line)

    def _seen(self, first: str, last: str) -> None:
        if self._first_stamp is None or first < self._first_stamp:
            self._first_stamp = first
        if self._last_stamp is None or last > self._last_stamp:
            self._last_stamp = last

    def _seen_at(self, first_ms: int, last_ms: int) -> None:
        first, last = event_time(first_ms), event_time(last_ms)
        if first is not None and (self._first_time is None or first < self._first_time):
            self._first_time = first
        if last is not None and (self._last_time is None or last > self._last_time):
            self._last_time = last

    @staticmethod
    def _standard_stamps(lines: Sequence[str]) -> bool:
        """Whether every line starts with a valid `YYYY-MM-DDTHH:MM:SS,mmm ` (checked per distinct
        second and millisecond part, not per line)."""
        return all(valid_second(second) for second in set(map(_SECOND, lines))) and all(
            map(_valid_millis, set(map(_MILLIS, lines)))
        )

    def _take_samples(
        self, lines: Sequence[str], parsed: dict[str, tuple[str, str, str | None]], width: int
    ) -> None:
        """The newest SAMPLES_PER_CODE lines of each code, kept in order."""
        wanted = {code: SAMPLES_PER_CODE for _, code, _ in parsed.values()}
        found: dict[str, list[str]] = {code: [] for code in wanted}
        for line in reversed(lines):
            fields = parsed.get(line[width:])
            if fields is None:
                continue
            code = fields[1]
            if wanted[code]:
                wanted[code] -= 1
                found[code].append(line)
                if not any(wanted.values()):
                    break
        for code, newest_first in found.items():
            self._samples_of(code).extend(reversed(newest_first))

    def _keep_events(
        self,
        lines: Sequence[str],
        parsed: dict[str, tuple[str, str, str | None]],
        width: int,
        times: Sequence[int] | None,
    ) -> None:
        assert self.events is not None
        keep = self.events.append
        if times is None:
            for line in lines:
                fields = parsed.get(line[width:])
                if fields is not None:
                    keep(IamEvent(_stamp_ms(line), fields[0], fields[1]))
            return
        for line, event_ms in zip(lines, times, strict=True):
            fields = parsed.get(line)
            if fields is not None:
                keep(IamEvent(event_ms, fields[0], fields[1]))

    def _count_many(self, user: str, code: str, caller: str | None, n: int) -> None:
        self.total += n
        pair = (user, code)
        pairs = self._pairs
        if pair in pairs:
            pairs[pair] += n
        elif len(pairs) < self.max_keys:
            pairs[pair] = n
        else:
            self._overflow[code] += n
        if caller:
            self.callers.add(caller, n)

    def add(self, record: AuthFailure, raw: str | None = None) -> None:
        self._count(
            record.user, record.code, record.caller_arn, raw if raw is not None else record.reason
        )
        if self._first_time is None or record.time < self._first_time:
            self._first_time = record.time
        if self._last_time is None or record.time > self._last_time:
            self._last_time = record.time
        if self.events is not None:
            self.events.append(IamEvent((record.time - _EPOCH) // _MS, record.user, record.code))

    def _count(self, user: str, code: str, caller: str | None, raw: str) -> None:
        self._count_many(user, code, caller, 1)
        self._samples_of(code).append(raw)

    def _samples_of(self, code: str) -> deque[str]:
        samples = self.samples.get(code)
        if samples is None:
            samples = self.samples[code] = deque(maxlen=SAMPLES_PER_CODE)
        return samples

    def add_unparsed(self, line: str) -> None:
        self.unparsed += 1
        if len(self.unparsed_samples) < UNPARSED_SAMPLES:
            self.unparsed_samples.append(line[:500])

    # Reading ----------------------------------------------------------------------------------
    @property
    def first_seen(self) -> datetime | None:
        times = [
            t for t in (self._first_time, self._first_stamp and stamp_time(self._first_stamp)) if t
        ]
        return min(times) if times else None

    @property
    def last_seen(self) -> datetime | None:
        times = [
            t for t in (self._last_time, self._last_stamp and stamp_time(self._last_stamp)) if t
        ]
        return max(times) if times else None

    @property
    def by_code(self) -> Counter[str]:
        counts: Counter[str] = Counter(self._overflow)
        for (_, code), n in self._pairs.items():
            counts[code] += n
        return counts

    @property
    def by_family(self) -> Counter[Family]:
        counts: Counter[Family] = Counter()
        for code, n in self.by_code.items():
            counts[family_of(code)] += n
        return counts

    @property
    def by_user(self) -> BoundedCounter:
        counts: Counter[str] = Counter()
        for (user, _), n in self._pairs.items():
            counts[user] += n
        return BoundedCounter(self.max_keys, counts, sum(self._overflow.values()))

    @property
    def users_overflow(self) -> int:
        return sum(self._overflow.values())

    def top_users(self, n: int) -> list[tuple[str, int]]:
        return self.by_user.top(n)

    def top_codes(self) -> list[tuple[str, int]]:
        return _top(self.by_code, len(self._pairs) + len(self._overflow))

    def users_for_code(self, code: str, n: int) -> list[tuple[str, int]]:
        return _top(Counter({u: c for (u, k), c in self._pairs.items() if k == code}), n)
