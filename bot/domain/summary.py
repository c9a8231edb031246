"""Streaming aggregation of failures, bounded in memory whatever the number of events.

Counts by code and family are exact. Database user names come from clients (anyone who can reach the
database can send any name), so at most `max_keys` distinct (user, code) pairs are itemised;
failures beyond that are counted by code in the totals and the reply says how many were not
itemised, instead of guessing.

A page of lines (`add_lines`) is counted in C: each line's text after its timestamp is looked up in
a cache of parsed rests, and the (user, code) pairs and callers are tallied with `Counter.update`
over the lookups; only a rest not seen before is parsed, once. The per-user, per-code and
per-family views are derived from the pair counts when read.

A line with no timestamp of its own (the shape AWS's troubleshooting table prints) takes its
CloudWatch event's time: pass the events' times (ms since the epoch) with the lines.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import compress, islice
from operator import itemgetter, not_
from typing import Any, cast

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
_HEAD = itemgetter(slice(0, _STAMP_WIDTH))
_SECOND = itemgetter(slice(0, 19))
_FIRST = itemgetter(slice(0, 1))
_DIGITS_AT = (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22)
_MARKS_AT = ((4, b"-"), (7, b"-"), (10, b"T"), (13, b":"), (16, b":"), (19, b","), (23, b" "))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

# What a line's rest reads as: ((user, code), caller, code), or _ODD (all None) when unparsed.
_Pair = tuple[str, str]
_Entry = tuple[_Pair | None, str | None, str | None]
_ODD: _Entry = (None, None, None)
# Where a summary counts a line of a known pair: its pair (itemised), its code (beyond max_keys),
# or _ODD_KEY (unparsed; never a code: codes hold no parenthesis).
_Route = _Pair | str
_ODD_KEY = "(unparsed)"


class _Routes(dict[_Pair | None, _Route | None]):
    """Where a summary counts each pair met so far; a pair not met yet reads as None and is
    noted, in order, in `fresh` (from C: dict lookups call __missing__ only on a miss)."""

    def __init__(self) -> None:
        super().__init__()
        self.fresh: list[_Pair] = []
        self.start_over()

    def start_over(self) -> None:
        self.clear()
        self[None] = _ODD_KEY
        self.fresh.clear()

    def __missing__(self, pair: _Pair) -> None:
        self.fresh.append(pair)


_PAIR = itemgetter(0)
_CALLER = itemgetter(1)
_CODE = itemgetter(2)


class _ParsedRests:
    """Parsed rests of lines, shared by every summary: the same services fail the same way page
    after page. Bounded by entries and by characters held (a rest may be up to MAX_LINE long):
    full, it forgets its oldest eighth, so a working set over the bound still mostly hits
    (forgetting everything at once made every later page miss, issue 14 part 7). Full of typical
    rests (~190 characters) it holds ~24 MB; at most ~10 MB of text plus ~240 bytes an entry.

    Read without a lock (`dict.get` is atomic); filled under one, since pages of several reads
    may be parsed in threads at once."""

    MAX_ENTRIES = 50_000
    MAX_CHARS = 10_000_000

    def __init__(self) -> None:
        self.entries: dict[str, _Entry] = {}
        self.get = self.entries.get
        self._chars = 0
        # One object per code and per (user, code) pair: less memory, and lookups by identity.
        self._codes: dict[str, str] = {}
        self._pairs: dict[_Pair, _Pair] = {}
        self._lock = threading.Lock()

    def put(self, rest: str, entry: _Entry) -> _Entry:
        with self._lock:
            entries = self.entries
            while entries and (
                len(entries) >= self.MAX_ENTRIES or self._chars + len(rest) > self.MAX_CHARS
            ):
                for old in list(islice(entries, len(entries) // 8 + 1)):
                    self._chars -= len(old)
                    del entries[old]
            pair, caller, code = entry
            if code is not None and pair is not None:
                if len(self._pairs) >= self.MAX_ENTRIES:
                    self._codes.clear()
                    self._pairs.clear()
                code = self._codes.setdefault(code, code)
                pair = (pair[0], code)
                entry = (self._pairs.setdefault(pair, pair), caller or None, code)
            if rest not in entries:
                self._chars += len(rest)
            entries[rest] = entry
            return entry

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()
            self._codes.clear()
            self._pairs.clear()
            self._chars = 0


_parsed_rests = _ParsedRests()


def clear_parse_caches() -> None:
    """Forget every parsed rest (benchmarks start each run cold with it)."""
    _parsed_rests.clear()


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


def _standard_heads(heads: list[str]) -> bool:
    """Whether every head (a line's first 24 characters) is a valid `YYYY-MM-DDTHH:MM:SS,mmm `,
    as `_has_standard_stamp` decides for one.

    Checked on the page's heads joined, with stepped slices (in C): ASCII digits and marks at
    their places, then the calendar. For a page within one day (the usual page), the day is
    checked once and each line's hour, minute and second by range (the largest hour is the
    largest head's; minutes and seconds by their tens digit); otherwise each distinct second."""
    joined = "".join(heads)
    count = len(heads)
    if len(joined) != _STAMP_WIDTH * count or not joined.isascii():
        return False  # a line shorter than a timestamp, or a character no timestamp holds
    raw = joined.encode("ascii")
    digits = b"".join([raw[at::_STAMP_WIDTH] for at in _DIGITS_AT])
    if not digits.isdigit() or any(raw[at::_STAMP_WIDTH] != mark * count for at, mark in _MARKS_AT):
        return False
    first, last = min(heads), max(heads)
    if first[:10] != last[:10]:
        return all(map(valid_second, set(map(_SECOND, heads))))
    return (
        valid_second(first[:10] + "T00:00:00")
        and last[11:13] <= "23"
        and not raw[14::_STAMP_WIDTH].translate(None, b"012345")
        and not raw[17::_STAMP_WIDTH].translate(None, b"012345")
    )


def _rest_entry(rest: str, width: int) -> _Entry:
    """What a line's rest after a standard timestamp (`width` 24) or a whole line with none
    (`width` 0, starting with `[`) reads as, as add_line would read the line; cached.

    Both kinds share one cache: a rest reads the same whether a timestamp precedes it or its
    event gives the time, as long as both lines are within MAX_LINE. The fast path reads most;
    parse_line decides for the others (a failure of another shape, a bare user, or unparsed)."""
    if _STAMP_WIDTH + len(rest) > MAX_LINE:
        if width:
            return _ODD  # over MAX_LINE with its timestamp: unparsed
        # Not cached, it would pin its memory; parse_line (which has its own cap) reads it, with
        # any time: only the fields matter here.
        return _slow_entry(rest)
    full = fast_fields(_STAMP_STANDIN + rest)
    if full is None:
        return _parsed_rests.put(rest, _slow_entry(_STAMP_STANDIN + rest))
    _, user, code, caller = full
    return _parsed_rests.put(rest, ((user, code), caller, code))


def _slow_entry(line: str) -> _Entry:
    record = parse_line(line, 0)
    if record is None:
        return _ODD
    return ((record.user, record.code), record.caller_arn or None, record.code)


def _tally(counts: dict[Any, int], keys: Iterable[Any]) -> None:
    """counts[key] += 1 for each key, in C (Counter.update over an iterable)."""
    Counter.update(cast("Counter[Any]", counts), keys)


def _admit(counts: dict[Any, int], before: int, bound: int) -> list[tuple[Any, int]]:
    """Take back the keys a tally added beyond `bound` (those after the first `before`, in the
    order they were first seen): what BoundedCounter.add would have refused, with their counts."""
    admitted = max(bound, before)
    if len(counts) <= admitted:
        return []
    return [(key, counts.pop(key)) for key in list(islice(counts, admitted, None))]


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

    def add_each(self, keys: Iterable[str | None]) -> None:
        """add(key) for each key that is not None, in C but for the keys refused."""
        counts = self.counts
        before = len(counts)
        _tally(counts, filter(None, keys))
        for _, n in _admit(counts, before, self.max_keys):
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
    # Failures naming a caller, by their whole entry ((user, code), caller, code): the refused
    # (caller, user) pairs, tallied in C beside the callers; at most max_keys entries.
    _refused: dict[_Entry, int] = field(default_factory=dict)
    _overflow: Counter[str] = field(default_factory=Counter)  # by code, beyond max_keys pairs
    _first_stamp: str | None = None  # fast-path lines keep their time as text until read
    _last_stamp: str | None = None
    _first_time: datetime | None = None
    _last_time: datetime | None = None
    # How add_lines counts each pair already met (see _count_pairs); for the _pairs it was made for.
    _routes: _Routes = field(init=False, default_factory=_Routes, repr=False, compare=False)
    _routes_for: dict[tuple[str, str], int] | None = field(
        init=False, default=None, repr=False, compare=False
    )

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

        A page whose lines all start with a standard timestamp is counted by the text after it;
        a page of lines with no timestamp (each starts with its `[LEVEL]`) the same way, whole
        lines for rests and the events' times for theirs. Other pages go line by line.
        """
        if len(lines) >= 64:
            heads = list(map(_HEAD, lines))
            if _standard_heads(heads):
                self._seen(min(heads)[:23], max(heads)[:23])
                self._add_page(lines, _STAMP_WIDTH, None)
                return
            if times is not None and len(times) == len(lines) and set(map(_FIRST, lines)) == {"["}:
                self._seen_at(min(times), max(times))
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
        `times` None) or all have none (`width` 0, with their events' `times`); every line has a
        time then (its own or its event's) and has been counted as seen.

        Every step but the parsing of rests not seen before is a C loop over the page: the
        cache lookups, the tallies of pairs and callers (Counter.update), the samples' search."""
        rests = map(itemgetter(slice(width, None)), lines) if width else lines
        found = list(map(_parsed_rests.get, rests))
        if not all(found):
            for at in compress(range(len(found)), map(not_, found)):
                rest = lines[at][width:]
                found[at] = _parsed_rests.get(rest) or _rest_entry(rest, width)
        entries = cast("list[_Entry]", found)
        odd = self._count_pairs(entries)
        self.total += len(entries) - odd
        self.callers.add_each(map(_CALLER, entries))
        refused = self._refused
        before = len(refused)
        _tally(refused, filter(_CALLER, entries))
        _admit(refused, before, self.max_keys)
        self._take_samples(lines, entries)
        if self.events is not None:
            self._keep_events(lines, entries, times)
        if odd:
            for line, entry in zip(lines, entries, strict=True):
                if entry[0] is None:
                    self.add_unparsed(line)

    def _count_pairs(self, entries: list[_Entry]) -> int:
        """Count a page's (user, code) pairs as _count_many would, line by line in first-seen
        order; return how many lines are unparsed.

        Each line's pair is mapped to where it counts (`_routes`, per summary: the pair itself
        once itemised, its code once refused beyond max_keys, _ODD_KEY for an unparsed line)
        and the results tallied into _pairs in C; the codes the tally added are moved to
        _overflow (where they already are: the pair was refused before). Pairs not met before
        are then counted one by one, in first-seen order, and learnt (the routes are bounded:
        past as many pairs as the cache holds rests, ~4 MB, they start again). The same counts,
        in the same order."""
        pairs = self._pairs
        routes = self._routes
        if self._routes_for is not pairs or len(routes) > _ParsedRests.MAX_ENTRIES:
            routes.start_over()
            self._routes_for = pairs
        before = len(pairs)
        _tally(pairs, map(routes.__getitem__, map(_PAIR, entries)))
        odd: int = pairs.pop(_ODD_KEY, 0)  # type: ignore[call-overload]
        pairs.pop(None, 0)  # type: ignore[call-overload]
        overflow = self._overflow
        for key in list(islice(pairs, before, None)):
            if isinstance(key, str):
                overflow[key] += pairs.pop(key)
        if routes.fresh:
            max_keys = self.max_keys
            for pair, n in Counter(routes.fresh).items():
                if pair in pairs:
                    pairs[pair] += n
                    routes[pair] = pair
                elif len(pairs) < max_keys:
                    pairs[pair] = n
                    routes[pair] = pair
                else:
                    overflow[pair[1]] += n
                    routes[pair] = pair[1]
            routes.fresh.clear()
        return odd

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

    def _take_samples(self, lines: Sequence[str], entries: list[_Entry]) -> None:
        """The newest SAMPLES_PER_CODE lines of each code, kept in order; codes in the order the
        page first shows them. Found with list.index over the page's codes, newest first."""
        codes = list(map(_CODE, entries))
        order = dict.fromkeys(codes)
        order.pop(None, None)
        codes.reverse()
        newest = len(codes) - 1
        for code in order:
            found: list[str] = []
            at = -1
            for _ in range(SAMPLES_PER_CODE):
                try:
                    at = codes.index(code, at + 1)
                except ValueError:
                    break
                found.append(lines[newest - at])
            self._samples_of(code).extend(reversed(found))

    def _keep_events(
        self, lines: Sequence[str], entries: list[_Entry], times: Sequence[int] | None
    ) -> None:
        assert self.events is not None
        keep = self.events.append
        if times is None:
            for line, (pair, _, _) in zip(lines, entries, strict=True):
                if pair is not None:
                    keep(IamEvent(_stamp_ms(line), pair[0], pair[1]))
            return
        for event_ms, (pair, _, _) in zip(times, entries, strict=True):
            if pair is not None:
                keep(IamEvent(event_ms, pair[0], pair[1]))

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
            entry: _Entry = ((user, code), caller, code)
            if entry in self._refused or len(self._refused) < self.max_keys:
                self._refused[entry] = self._refused.get(entry, 0) + n

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

    def users_of_caller(self, caller: str) -> list[tuple[str, int]]:
        """The database users `caller` was refused for (NotAuthorized lines name both), most
        first; bounded like the pairs (max_keys (caller, user, code) entries)."""
        counts: Counter[str] = Counter()
        for (pair, named, _), n in self._refused.items():
            if named == caller and pair is not None:
                counts[pair[0]] += n
        return _top(counts, len(counts))

    # Exact counts (Logs Insights) -------------------------------------------------------------
    def take_exact_counts(
        self,
        groups: Sequence[tuple[str, str, str | None, int]],
        not_itemised: dict[str, int],
        unparsed: int,
        first_seen: datetime | None,
        last_seen: datetime | None,
    ) -> None:
        """Replace the counts with a whole window's, counted server-side: (user, code, caller, n)
        groups, most first (the first `max_keys` pairs are itemised, the rest counted by code),
        failures counted by code only, the unparsed lines, and the first and last times. The
        samples and events of the pages read stay: they are the newest."""
        self.total, self._pairs, self._overflow = 0, {}, Counter()
        self.callers = BoundedCounter(self.max_keys)
        self._refused = {}
        for user, code, caller, n in groups:
            self._count_many(user, code, caller, n)
        for code, n in not_itemised.items():
            self.total += n
            self._overflow[code] += n
        self.unparsed = unparsed
        self.truncated, self.covered_from = False, None
        self._first_stamp = self._last_stamp = None
        self._first_time, self._last_time = first_seen, last_seen
