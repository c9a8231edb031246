"""Streaming aggregation of AuthFailure records, bounded in memory whatever the number of events.

Counts by code and family are exact. Database user names come from clients (anyone who can reach the
database can send any name), so the per-user tables keep at most `max_keys` distinct names; failures
of names beyond that are counted in `users_overflow` and the reply says so instead of guessing.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.parse import parse_line
from bot.domain.records import AuthFailure, Family, family_of

DEFAULT_MAX_KEYS = 5_000
SAMPLES_PER_CODE = 3
UNPARSED_SAMPLES = 3


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
        # Ties broken by name so replies are stable.
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


@dataclass
class FailureSummary:
    """What the log says about one window. Feed it with `add` / `add_unparsed`, read the fields."""

    max_keys: int = DEFAULT_MAX_KEYS
    total: int = 0
    by_code: Counter[str] = field(default_factory=Counter)
    by_family: Counter[Family] = field(default_factory=Counter)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    unparsed: int = 0
    unparsed_samples: list[str] = field(default_factory=list)
    truncated: bool = False
    samples: dict[str, deque[str]] = field(default_factory=dict)
    by_user: BoundedCounter = field(init=False)
    by_user_code: dict[str, BoundedCounter] = field(init=False)
    callers: BoundedCounter = field(init=False)

    def __post_init__(self) -> None:
        self.by_user = BoundedCounter(self.max_keys)
        self.by_user_code = {}
        self.callers = BoundedCounter(self.max_keys)

    def add(self, record: AuthFailure, raw: str | None = None) -> None:
        self.total += 1
        code = record.code
        self.by_code[code] += 1
        self.by_family[family_of(code)] += 1
        self.by_user.add(record.user)
        per_code = self.by_user_code.get(code)
        if per_code is None:
            per_code = self.by_user_code[code] = BoundedCounter(self.max_keys)
        per_code.add(record.user)
        if record.caller_arn:
            self.callers.add(record.caller_arn)
        if self.first_seen is None or record.time < self.first_seen:
            self.first_seen = record.time
        if self.last_seen is None or record.time > self.last_seen:
            self.last_seen = record.time
        samples = self.samples.get(code)
        if samples is None:
            samples = self.samples[code] = deque(maxlen=SAMPLES_PER_CODE)
        samples.append(raw if raw is not None else record.reason)

    def add_unparsed(self, line: str) -> None:
        self.unparsed += 1
        if len(self.unparsed_samples) < UNPARSED_SAMPLES:
            self.unparsed_samples.append(line[:500])

    def add_line(self, line: str) -> None:
        """Parse one raw log line and count it, as a failure or as unparsed."""
        record = parse_line(line)
        if record is None:
            self.add_unparsed(line)
        else:
            self.add(record, line)

    @property
    def users_overflow(self) -> int:
        return self.by_user.overflow

    def top_users(self, n: int) -> list[tuple[str, int]]:
        return self.by_user.top(n)

    def top_codes(self) -> list[tuple[str, int]]:
        return sorted(self.by_code.items(), key=lambda kv: (-kv[1], kv[0]))

    def users_for_code(self, code: str, n: int) -> list[tuple[str, int]]:
        counter = self.by_user_code.get(code)
        return counter.top(n) if counter else []
