"""Who failed from where: `iam-db-auth-error` failures matched to the engine's PAM lines (or, for
MySQL and MariaDB, to the `Access denied` lines of their error log: same matching, no database).

The iam line has the reason (error code) but no client; the PAM line in the `postgresql` log has the
client address and database but no reason. A failure and a PAM line of the same user within ±2 s
are taken as the same connection attempt: nearest pairs first, each line used at most once.

Times: iam lines have milliseconds; RDS writes PAM lines with whole seconds, so a PAM line stamped
`03:36:09` happened somewhere in [09.000, 09.999]. A pair is within tolerance when *some* moment of
that second is within 2 s of the iam time, and "nearest" is measured to the middle of the second.
Working in half-milliseconds keeps all of that in exact integers.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

TOLERANCE_MS = 2_000
TOP_CLIENTS = 5
TOP_DATABASES = 3


class IamEvent(NamedTuple):
    """One failure read from the `iam-db-auth-error` log."""

    ms: int  # epoch milliseconds
    user: str
    code: str


class EngineFailure(Protocol):
    """An engine log's record of a refused login: a PAM line of the `postgresql` log
    (bot/domain/pam.py) or an `Access denied` line of a MySQL/MariaDB `error` log
    (bot/domain/mysql_error_log.py, whose database is always "")."""

    @property
    def ms(self) -> int: ...
    @property
    def precision_ms(self) -> int: ...
    @property
    def user(self) -> str: ...
    @property
    def client(self) -> str: ...
    @property
    def database(self) -> str: ...


def _iam_point(event: IamEvent) -> int:
    return 2 * event.ms


def _pam_point(line: EngineFailure) -> int:
    # The middle of [ms, ms + precision - 1], doubled so it stays an integer.
    return 2 * line.ms + line.precision_ms - 1


def _pam_reach(line: EngineFailure, tolerance_ms: int) -> int:
    # |2x - point| <= reach  <=>  x is within tolerance of some ms of the line's second.
    return 2 * tolerance_ms + line.precision_ms - 1


def nearest_pairs(
    iam: Sequence[IamEvent], pam: Sequence[EngineFailure], tolerance_ms: int = TOLERANCE_MS
) -> list[tuple[int, int]]:
    """(iam index, pam index) pairs of the same user within tolerance, nearest first, each index
    at most once on either side.

    Per user, both sides are merged into one time-ordered list. The nearest remaining pair of
    opposite sides is always adjacent in that list (anything between them would be nearer to one
    of them), so only adjacent pairs go on a heap; taking a pair joins its two neighbours, which
    become the one new candidate. O(n log n), instead of every pair within 2 s, which a burst of a
    thousand failures a second of one user would make millions. Ties go to the pair whose left
    member is latest in the list, then whose right member is earliest: under that order the
    smallest pair is always adjacent, so the result is exactly the greedy over all pairs.
    """
    by_user: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for i, event in enumerate(iam):
        by_user[event.user][0].append(i)
    for j, line in enumerate(pam):
        if line.user in by_user:
            by_user[line.user][1].append(j)
    pairs: list[tuple[int, int]] = []
    for iam_ids, pam_ids in by_user.values():
        if pam_ids:
            pairs.extend(_match_one_user(iam, pam, iam_ids, pam_ids, tolerance_ms))
    return pairs


def _match_one_user(
    iam: Sequence[IamEvent],
    pam: Sequence[EngineFailure],
    iam_ids: list[int],
    pam_ids: list[int],
    tolerance_ms: int,
) -> list[tuple[int, int]]:
    # (point, side, index): side 0 = iam, 1 = pam.
    items = sorted(
        [(_iam_point(iam[i]), 0, i) for i in iam_ids]
        + [(_pam_point(pam[j]), 1, j) for j in pam_ids]
    )
    n = len(items)
    before = list(range(-1, n - 1))
    after = list(range(1, n + 1))  # n: no neighbour
    alive = [True] * n
    heap: list[tuple[int, int, int]] = []

    def push(left: int, right: int) -> None:
        if left >= 0 and right < n and items[left][1] != items[right][1]:
            heapq.heappush(heap, (items[right][0] - items[left][0], -left, right))

    for k in range(n - 1):
        push(k, k + 1)
    pairs: list[tuple[int, int]] = []
    while heap:
        distance, negative_left, right = heapq.heappop(heap)
        left = -negative_left
        # Both alive means still adjacent: items are only ever removed, never inserted.
        if not (alive[left] and alive[right]):
            continue
        iam_item, pam_item = sorted((items[left], items[right]), key=lambda item: item[1])
        if distance > _pam_reach(pam[pam_item[2]], tolerance_ms):
            continue
        pairs.append((iam_item[2], pam_item[2]))
        alive[left] = alive[right] = False
        outer_left, outer_right = before[left], after[right]
        if outer_left >= 0:
            after[outer_left] = outer_right
        if outer_right < n:
            before[outer_right] = outer_left
        push(outer_left, outer_right)
    return pairs


@dataclass(frozen=True)
class ClientGroup:
    """The clients seen for one (user, error code)."""

    user: str
    code: str
    matched: int
    clients: list[tuple[str, int]]  # the top ones, most failures first
    more_clients: int  # distinct clients beyond `clients`
    databases: list[str]  # the most frequent ones


@dataclass(frozen=True)
class Correlation:
    groups: list[ClientGroup]  # most matched first
    iam_total: int
    matched: int
    pam_total: int  # PAM lines in the window
    unmatched_pam: int  # of those, the ones no iam failure claimed

    @property
    def unmatched_iam(self) -> int:
        return self.iam_total - self.matched


@dataclass
class _Tally:
    clients: Counter[str] = field(default_factory=Counter)
    databases: Counter[str] = field(default_factory=Counter)


def correlate(
    iam: Sequence[IamEvent],
    pam: Sequence[EngineFailure],
    *,
    tolerance_ms: int = TOLERANCE_MS,
    counted_from_ms: int | None = None,
    counted_to_ms: int | None = None,
) -> Correlation:
    """Match the failures to PAM lines and count clients per (user, code). PAM lines are read a
    little beyond the window so that failures at its edges can match; unmatched ones outside
    [counted_from_ms, counted_to_ms) are not the window's and are not counted."""
    pairs = nearest_pairs(iam, pam, tolerance_ms)
    tallies: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    used_pam: set[int] = set()
    for i, j in pairs:
        event, line = iam[i], pam[j]
        tally = tallies[(event.user, event.code)]
        tally.clients[line.client] += 1
        tally.databases[line.database] += 1
        used_pam.add(j)
    groups = [_group(user, code, tally) for (user, code), tally in tallies.items()]
    groups.sort(key=lambda g: (-g.matched, g.user, g.code))

    def counted(line: EngineFailure) -> bool:
        return (counted_from_ms is None or line.ms + line.precision_ms > counted_from_ms) and (
            counted_to_ms is None or line.ms < counted_to_ms
        )

    in_window = [j for j, line in enumerate(pam) if counted(line)]
    unmatched_pam = sum(1 for j in in_window if j not in used_pam)
    return Correlation(groups, len(iam), len(pairs), len(in_window), unmatched_pam)


def _group(user: str, code: str, tally: _Tally) -> ClientGroup:
    ranked = sorted(tally.clients.items(), key=lambda kv: (-kv[1], kv[0]))
    databases = sorted(tally.databases.items(), key=lambda kv: (-kv[1], kv[0]))
    return ClientGroup(
        user=user,
        code=code,
        matched=sum(tally.clients.values()),
        clients=ranked[:TOP_CLIENTS],
        more_clients=max(len(ranked) - TOP_CLIENTS, 0),
        databases=[name for name, _ in databases[:TOP_DATABASES]],
    )
