"""A simulated AWS for benchmark (f): one incident day of 1,000 failures/s (86.4 M lines) at the
boto3-client boundary, generated lazily, never stored.

The day is a periodic schedule: event k (k = 0 … 86,399,999) happens at `start + k ms`, in hour
h = k // 3,600,000, and is the line of `hours[h].slots[k mod len(slots)]`. So any time range's
events, counts per (code, user, caller), first and last times and bytes are arithmetic over at
most 24 hours × a few thousand slots, and FilterLogEvents pages are built only when asked for.

Documented behaviour simulated (the sources are in docs/benchmarks.md, section (f)):
- FilterLogEvents: at most 10,000 events or 1 MB (message bytes + 26 per event) a page; a
  `nextToken` while events remain; startTime/endTime in ms, both inclusive.
- Logs Insights: StartQuery/GetQueryResults/StopQuery, the query's own `parse` regexes run on
  each distinct line, `stats` aggregated from the schedule, rows capped at `limit` (≤ 10,000),
  at most 30 queries in flight (LimitExceededException past it), `Scheduled`/`Running` until
  the modelled run time has passed: SCAN_OVERHEAD_SECONDS + bytes scanned / scan rate.
- Request quotas per account and region (1-second sliding window): FilterLogEvents 5/s,
  StartQuery 10/s, GetQueryResults 10/s (StopQuery: none published; 10/s assumed). A call over
  its quota is counted as throttled and answered after the wait botocore's retry would have made.
- GetMetricData: Sum per period of the seven IamDbAuth* metrics, consistent with the events,
  the newest METRIC_LAG of the day not yet published (CloudWatch's delay).
- Every request is validated against botocore's service model, as the tests' fakes do.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from types import SimpleNamespace
from typing import Any

import botocore.session
from botocore.exceptions import ClientError
from botocore.hooks import HierarchicalEmitter
from botocore.validate import validate_parameters

from bot.domain.insights_query import (
    CODES_QUERY,
    EVENTS_QUERY,
    GROUP_FIELDS,
    GROUPS_QUERY,
    LINE_REGEX,
    PARSES,
    python_regex,
)
from bot.domain.parse import MAX_LINE

ACCOUNT, REGION = "123456789012", "eu-central-1"
CLUSTER = "incident-db"
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS  # one event a millisecond: 1,000 failures/s
SUCCESSES_PER_MS = 2  # IamDbAuthConnectionSuccess, for the Requests metric
PAGE_EVENTS, PAGE_BYTES, EVENT_OVERHEAD = 10_000, 1_048_576, 26
MAX_ROWS, MAX_QUERIES_IN_FLIGHT = 10_000, 30
QUOTAS = {"FilterLogEvents": 5, "StartQuery": 10, "GetQueryResults": 10, "StopQuery": 10}
METRIC_LAG = timedelta(minutes=3)
SCAN_OVERHEAD_SECONDS = 1.0  # a query's start-up, whatever it scans
# Network and service time of one call: a full 1 MB FilterLogEvents page, and the small ones.
PAGE_SECONDS, CALL_SECONDS = 0.15, 0.03

ROLE = "arn:aws:sts::123456789012:assumed-role/{}/i-0{:07x}"
FULL_REASONS = {
    "InvalidToken": (
        "Failed to authenticate the connection request for user '{u}' because the provided "
        "token is malformed or otherwise invalid.",
        400,
    ),
    "ExpiredToken": (
        "Failed to authenticate the connection request for user '{u}' because the token age is "
        "longer than 15 minutes.",
        400,
    ),
    "NotAuthorized": (
        "Failed to authorize the connection request for user '{u}' because the IAM policy "
        "assumed by the caller '{c}' is not authorized to perform rds-db:connect on the DB "
        "instance.",
        403,
    ),
    "ThrottlingException": (
        "Failed to authorize the connection request for user '{u}' due to IAM DB "
        "authentication throttling.",
        429,
    ),
    "InternalError": (
        "Failed to authorize the connection request for user '{u}' due to an internal IAM DB "
        "Auth error.",
        500,
    ),
}
# The IAM DB auth troubleshooting table's shape: no timestamp, the user unquoted.
BARE = (
    "[ERROR] Failed to authenticate the connection request for user {u} because {why} "
    "(Status Code: 400, Error Code:{code})"
)
BARE_WHY = {
    "InvalidToken": "the provided token is malformed or otherwise invalid.",
    "ExpiredToken": "the token age is longer than 15 minutes.",
}
UNREADABLE = (
    "[ERROR] IAM DB authentication could not complete: an undocumented condition (ref {})",
    "FATAL: not an iam-db-auth-error line at all #{}",
)
# Names a database accepts and a log prints: quotes, the reason's own words, the line's suffix,
# Slack's mention syntax, markup, other scripts, spaces, a fake caller, a long name.
HOSTILE_USERS = (
    "o'brien",
    "x' because y",
    "ops' due to z",
    "<!channel>",
    "<@U024BE7LH> hi",
    "a&b<c>d",
    "*bold* _it_ `code`",
    "пользователь_данных",
    "用户数据",
    "user with spaces",
    "evil (Status Code: 500, Error Code: Fake)",
    "spoof caller 'arn:aws:iam::999999999999:role/fake'",
    "L" + "o" * 300 + "ng",
)
FAMILY_METRIC = {
    "InvalidToken": "IamDbAuthConnectionFailureInvalidToken",
    "ExpiredToken": "IamDbAuthConnectionFailureInvalidToken",
    "NotAuthorized": "IamDbAuthConnectionFailureInsufficientPermissions",
    "ThrottlingException": "IamDbAuthConnectionFailureThrottling",
    "InternalError": "IamDbAuthConnectionFailureServerError",
}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=4096)
def _second_text(second: int) -> str:
    return f"{_EPOCH + timedelta(seconds=second):%Y-%m-%dT%H:%M:%S}"


def insights_time(ms: int) -> str:
    """How Logs Insights prints @timestamp (UTC, milliseconds)."""
    return f"{_second_text(ms // 1000).replace('T', ' ')}.{ms % 1000:03d}"


@dataclass(frozen=True)
class Line:
    """One kind of line: its truth (None for an unreadable line) and its text around the time."""

    code: str | None
    user: str | None
    caller: str | None
    body: str  # the message after the timestamp (or the whole message when `stamped` is False)
    stamped: bool

    def message(self, ms: int) -> str:
        if not self.stamped:
            return self.body
        return f"{_second_text(ms // 1000)},{ms % 1000:03d} {self.body}"

    @property
    def size(self) -> int:
        return len(self.message(0).encode())


def full_line(code: str, user: str, caller: str | None = None, compact: bool = False) -> Line:
    template, status = FULL_REASONS[code]
    sep = "" if compact else " "
    body = (
        f"[ERROR] {template.format(u=user, c=caller)} "
        f"(Status Code:{sep}{status}, Error Code:{sep}{code})"
    )
    return Line(code, user, caller if code == "NotAuthorized" else None, body, True)


def bare_line(code: str, user: str) -> Line:
    return Line(code, user, None, BARE.format(u=user, why=BARE_WHY[code], code=code), False)


@dataclass
class Hour:
    """One hour's schedule: event k of the hour is `slots[k mod len(slots)]`."""

    slots: list[int]  # indexes into Day.lines
    positions: dict[int, list[int]] = field(default_factory=dict)  # line → its slots, ascending

    def __post_init__(self) -> None:
        for at, line in enumerate(self.slots):
            self.positions.setdefault(line, []).append(at)


def _count_below(n: int, slot: int, period: int) -> int:
    """How many k in [0, n) have k mod period == slot."""
    return (n - slot + period - 1) // period if n > slot else 0


@dataclass
class Day:
    """The incident day: deterministic from its seed."""

    start_ms: int
    users: int = 300
    slots: int = 2_400  # the hours' common schedule; its distinct lines bound a slice's groups
    seed: int = 14
    lines: list[Line] = field(default_factory=list)
    hours: list[Hour] = field(default_factory=list)
    metric_periods: dict[tuple[int, int], Counter[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        index: dict[Line, int] = {}

        def add(line: Line) -> int:
            return index.setdefault(line, len(index))

        roles = [ROLE.format(f"app-role-{r}", rng.randrange(16**7)) for r in range(24)]
        common = [f"svc_{i:03d}" for i in range(self.users)] + list(HOSTILE_USERS)
        weights = [1.0 / (1 + i) ** 0.8 for i in range(len(common))]  # a few users dominate
        codes = list(FULL_REASONS)
        code_weights = [30, 25, 25, 12, 8]

        def catalogue(users: Sequence[str], user_weights: Sequence[float], n: int) -> list[int]:
            picked = []
            for user, code in zip(
                rng.choices(users, user_weights, k=n),
                rng.choices(codes, code_weights, k=n),
                strict=True,
            ):
                caller = rng.choice(roles) if code == "NotAuthorized" else None
                shape = rng.random()
                plain = all(c.isalnum() or c in "_-" for c in user)
                if shape < 0.2 and plain and code in BARE_WHY:
                    picked.append(add(bare_line(code, user)))
                else:
                    picked.append(add(full_line(code, user, caller, compact=shape > 0.9)))
            return picked

        base = catalogue(common, weights, self.slots)
        for hour in range(24):
            # Jobs that fail only in this hour: a read of the newest events never sees them.
            jobs = [f"cron_h{hour:02d}_{j}" for j in range(6)]
            own = catalogue(jobs, [1.0] * len(jobs), 150)
            odd = [add(Line(None, None, None, UNREADABLE[hour % 2].format(hour), False))]
            slots = base + own + odd * 2
            rng.shuffle(slots)
            self.hours.append(Hour(slots))
        self.lines = list(index)

    @property
    def end_ms(self) -> int:
        return self.start_ms + DAY_MS

    def event(self, ms: int) -> Line:
        k = ms - self.start_ms
        hour = self.hours[k // HOUR_MS]
        return self.lines[hour.slots[(k % HOUR_MS) % len(hour.slots)]]

    def spans(self, a: int, b: int) -> Iterator[tuple[Hour, int, int, int]]:
        """The hours meeting [a, b) (ms, clipped to the day): (hour, its first ms, offsets)."""
        a, b = max(a, self.start_ms), min(b, self.end_ms)
        while a < b:
            k = a - self.start_ms
            h0 = self.start_ms + (k // HOUR_MS) * HOUR_MS
            top = min(b, h0 + HOUR_MS)
            yield self.hours[k // HOUR_MS], h0, a - h0, top - h0
            a = top

    def tally(self, a: int, b: int) -> dict[int, tuple[int, int, int]]:
        """Per line of [a, b): (count, first ms, last ms). Arithmetic, never event by event."""
        found: dict[int, tuple[int, int, int]] = {}
        for hour, h0, lo, hi in self.spans(a, b):
            period = len(hour.slots)
            for line, slots in hour.positions.items():
                n, first, last = 0, None, None
                for slot in slots:
                    c = _count_below(hi, slot, period) - _count_below(lo, slot, period)
                    if not c:
                        continue
                    n += c
                    f = lo + (slot - lo) % period
                    l_ = (hi - 1) - ((hi - 1 - slot) % period)
                    first = f if first is None else min(first, f)
                    last = l_ if last is None else max(last, l_)
                if n and first is not None and last is not None:
                    old = found.get(line)
                    f_ms, l_ms = h0 + first, h0 + last
                    found[line] = (
                        (n, f_ms, l_ms)
                        if old is None
                        else (old[0] + n, min(old[1], f_ms), max(old[2], l_ms))
                    )
        return found

    def bytes_in(self, a: int, b: int) -> int:
        return sum(n * self.lines[line].size for line, (n, _, _) in self.tally(a, b).items())


# Logs Insights: the query's parse commands, run on one line of each kind ---------------------
_STEPS = [(source, python_regex(regex)) for source, regex in PARSES]
_LINE = python_regex(LINE_REGEX)


@cache
def insights_fields(message: str) -> Mapping[str, str] | None:
    """The fields the query's `parse` commands give a line; None when `filter` drops it."""
    if len(message) > MAX_LINE or _LINE.search(message) is None:
        return None
    values: dict[str, str] = {"@message": message}
    for source, regex in _STEPS:
        text = values.get(source)
        found = regex.search(text) if text is not None else None
        if found is not None:
            values.update({k: v for k, v in found.groupdict().items() if v is not None})
    return values if "code" in values else None


@dataclass
class Query:
    query_id: str
    rows: list[list[dict[str, str]]]
    ready_at: float
    stopped: bool = False
    bytes_scanned: float = 0.0
    records: float = 0.0


class Quota:
    """At most `per_second` calls in any second; a call over it waits (and is counted)."""

    def __init__(self, per_second: int, clock: Callable[[], float]) -> None:
        self.per_second = per_second
        self.clock = clock
        self.calls: deque[float] = deque()
        self.lock = threading.Lock()
        self.throttled = 0

    def enter(self) -> None:
        while True:
            with self.lock:
                now = self.clock()
                while self.calls and self.calls[0] <= now - 1.0:
                    self.calls.popleft()
                if len(self.calls) < self.per_second:
                    self.calls.append(now)
                    return
                wait = self.calls[0] + 1.0 - now
                self.throttled += 1
            time.sleep(wait)


def _model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


class Simulated:
    """Shared by the simulated clients: calls by API, quotas, the clock."""

    def __init__(self, day: Day, scan_bytes_per_second: float) -> None:
        self.day = day
        self.scan_rate = scan_bytes_per_second
        self.clock = time.monotonic
        self.calls: Counter[str] = Counter()
        self.quotas = {api: Quota(n, self.clock) for api, n in QUOTAS.items()}
        self.lock = threading.Lock()
        self.events_returned = 0
        self.queries: dict[str, Query] = {}
        self.query_ids = itertools.count(1)
        self.limit_refusals = 0
        self.starts: Counter[str] = Counter()  # StartQuery by query: events, groups, codes
        self.query_seconds: list[float] = []  # modelled run time of each query

    def call(self, model: Any, api: str, params: Mapping[str, Any]) -> None:
        validate_parameters(dict(params), model.operation_model(api).input_shape)
        with self.lock:
            self.calls[api] += 1
        quota = self.quotas.get(api)
        if quota is not None:
            quota.enter()

    def throttled(self) -> dict[str, int]:
        return {api: q.throttled for api, q in self.quotas.items() if q.throttled}


def _error(code: str, api: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, api)


class SimulatedLogs:
    """The logs client's FilterLogEvents and Logs Insights calls. `meta.events` is botocore's
    emitter, so the product's rate budget registers on it as on a real client."""

    def __init__(self, sim: Simulated) -> None:
        self.sim = sim
        self.meta = SimpleNamespace(events=HierarchicalEmitter(), service_model=_model("logs"))
        self.group = f"/aws/rds/cluster/{CLUSTER}/iam-db-auth-error"

    def _enter(self, api: str, params: Mapping[str, Any]) -> None:
        # What botocore emits around each attempt, for hooks such as the rate budget.
        self.meta.events.emit(f"request-created.cloudwatch-logs.{api}", request=None)
        self.meta.events.emit(f"before-send.cloudwatch-logs.{api}", request=None)
        self.sim.call(self.meta.service_model, api, params)

    def _check_group(self, params: Mapping[str, Any], api: str) -> None:
        if params.get("logGroupName") != self.group:
            raise _error("ResourceNotFoundException", api)

    def filter_log_events(self, **params: Any) -> dict[str, Any]:
        self._enter("FilterLogEvents", params)
        self._check_group(params, "FilterLogEvents")
        day = self.sim.day
        first = max(int(params.get("startTime", day.start_ms)), day.start_ms)
        end = min(int(params.get("endTime", day.end_ms - 1)) + 1, day.end_ms)
        if "nextToken" in params:
            first = int(params["nextToken"].split("/")[1])
        limit = min(int(params.get("limit", PAGE_EVENTS)), PAGE_EVENTS)
        events: list[dict[str, Any]] = []
        size = 0
        ms = first
        while ms < end and len(events) < limit:
            message = day.event(ms).message(ms)
            cost = len(message.encode()) + EVENT_OVERHEAD
            if size + cost > PAGE_BYTES:
                break
            size += cost
            events.append(
                {
                    "logStreamName": "instance-1",
                    "timestamp": ms,
                    "message": message,
                    "ingestionTime": ms + 500,
                    "eventId": str(ms),
                }
            )
            ms += 1
        with self.sim.lock:
            self.sim.events_returned += len(events)
        time.sleep(PAGE_SECONDS * size / PAGE_BYTES + CALL_SECONDS)
        page: dict[str, Any] = {"events": events, "searchedLogStreams": []}
        if ms < end:
            page["nextToken"] = f"sim/{ms}"
        return page

    # Logs Insights ---------------------------------------------------------------------------
    def start_query(self, **params: Any) -> dict[str, str]:
        self._enter("StartQuery", params)
        self._check_group(params, "StartQuery")
        limit = int(params.get("limit", 1_000))
        assert params["startTime"] <= params["endTime"]
        assert 1 <= limit <= MAX_ROWS  # the API reference's range
        a, b = params["startTime"] * 1000, params["endTime"] * 1000 + 1000  # both inclusive
        tally = self.sim.day.tally(a, b)
        rows = _rows(params["queryString"], tally, self.sim.day.lines)[:limit]
        scanned = float(sum(n * self.sim.day.lines[i].size for i, (n, _, _) in tally.items()))
        now = self.sim.clock()
        with self.sim.lock:
            running = sum(
                1 for q in self.sim.queries.values() if not q.stopped and q.ready_at > now
            )
            if running >= MAX_QUERIES_IN_FLIGHT:
                self.sim.limit_refusals += 1
                raise _error("LimitExceededException", "StartQuery")
            query_id = f"q-{next(self.sim.query_ids)}"
            self.sim.starts[_QUERY_NAMES.get(params["queryString"], "other")] += 1
            self.sim.query_seconds.append(SCAN_OVERHEAD_SECONDS + scanned / self.sim.scan_rate)
            self.sim.queries[query_id] = Query(
                query_id,
                rows,
                now + SCAN_OVERHEAD_SECONDS + scanned / self.sim.scan_rate,
                bytes_scanned=scanned,
                records=float(sum(n for n, _, _ in tally.values())),
            )
        time.sleep(CALL_SECONDS)
        return {"queryId": query_id}

    def get_query_results(self, **params: Any) -> dict[str, Any]:
        self._enter("GetQueryResults", params)
        time.sleep(CALL_SECONDS)
        query = self.sim.queries.get(params["queryId"])
        if query is None:
            raise _error("ResourceNotFoundException", "GetQueryResults")
        if query.stopped:
            return {"status": "Cancelled", "results": []}
        if self.sim.clock() < query.ready_at:
            return {"status": "Running", "results": []}
        stats = {"recordsMatched": query.records, "bytesScanned": query.bytes_scanned}
        return {"status": "Complete", "results": query.rows, "statistics": stats}

    def stop_query(self, **params: Any) -> dict[str, bool]:
        self._enter("StopQuery", params)
        query = self.sim.queries.get(params["queryId"])
        if query is None or self.sim.clock() >= query.ready_at:
            raise _error("InvalidParameterException", "StopQuery")  # not running
        query.stopped = True
        return {"success": True}


_QUERY_NAMES = {EVENTS_QUERY: "events", GROUPS_QUERY: "groups", CODES_QUERY: "codes"}


def _cell(name: str, value: str) -> dict[str, str]:
    return {"field": name, "value": value}


def _rows(
    query: str, tally: Mapping[int, tuple[int, int, int]], lines: Sequence[Line]
) -> list[list[dict[str, str]]]:
    """A query's result rows, from the lines' counts and the query's own parse of each line."""
    if query == EVENTS_QUERY:
        return [[_cell("events", str(sum(n for n, _, _ in tally.values())))]]
    groups: dict[tuple[str | None, ...], list[int]] = {}
    for line, (n, first, last) in tally.items():
        # The time printed in a line does not change how the query parses it.
        fields = insights_fields(lines[line].message(0))
        if fields is None:
            continue
        key = (
            tuple(fields.get(f) for f in GROUP_FIELDS)
            if query == GROUPS_QUERY
            else (fields["code"],)
        )
        if query not in (GROUPS_QUERY, CODES_QUERY):
            raise _error("MalformedQueryException", "StartQuery")
        known = groups.get(key)
        groups[key] = (
            [n, first, last]
            if known is None
            else [known[0] + n, min(known[1], first), max(known[2], last)]
        )
    rows = []
    for key, (n, first, last) in groups.items():
        if query == CODES_QUERY:
            rows.append([_cell("code", str(key[0])), _cell("n", str(n))])
            continue
        row = [_cell(f, v) for f, v in zip(GROUP_FIELDS, key, strict=True) if v is not None]
        row += [_cell("n", str(n)), _cell("first", insights_time(first))]
        rows.append([*row, _cell("last", insights_time(last))])
    return rows


class SimulatedCloudWatch:
    def __init__(self, sim: Simulated, read_at_ms: int) -> None:
        self.sim = sim
        self.meta = SimpleNamespace(
            events=HierarchicalEmitter(), service_model=_model("cloudwatch")
        )
        self.published_until = read_at_ms - int(METRIC_LAG.total_seconds() * 1000)

    def get_metric_data(self, **params: Any) -> dict[str, Any]:
        self.sim.call(self.meta.service_model, "GetMetricData", params)
        time.sleep(CALL_SECONDS)
        day = self.sim.day
        start = int(params["StartTime"].timestamp() * 1000)
        end = int(params["EndTime"].timestamp() * 1000)
        results = []
        cache = day.metric_periods  # the same from run to run: the simulator's cost, not AWS's
        for query in params["MetricDataQueries"]:
            stat = query["MetricStat"]
            period = stat["Period"] * 1000
            dims = {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]}
            stamps: list[datetime] = []
            values: list[float] = []
            if dims.get("DBClusterIdentifier") == CLUSTER:
                for t in range(start, end, period):
                    hi = min(t + period, self.published_until)
                    if hi <= t:
                        break
                    by_metric = cache.get((t, hi))
                    if by_metric is None:
                        by_metric = cache[(t, hi)] = _metric_counts(day, t, hi)
                    stamps.append(_EPOCH + timedelta(milliseconds=t))
                    values.append(float(by_metric[stat["Metric"]["MetricName"]]))
            results.append(
                {
                    "Id": query["Id"],
                    "Timestamps": stamps,
                    "Values": values,
                    "StatusCode": "Complete",
                }
            )
        return {"MetricDataResults": results, "Messages": []}


def _metric_counts(day: Day, a: int, b: int) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line, (n, _, _) in day.tally(a, b).items():
        code = day.lines[line].code
        counts["IamDbAuthConnectionFailure"] += n
        if code in FAMILY_METRIC:
            counts[FAMILY_METRIC[code]] += n
    inside = max(0, min(b, day.end_ms) - max(a, day.start_ms))
    counts["IamDbAuthConnectionSuccess"] = SUCCESSES_PER_MS * inside
    counts["IamDbAuthConnectionRequests"] = (
        counts["IamDbAuthConnectionSuccess"] + counts["IamDbAuthConnectionFailure"]
    )
    return counts


class SimulatedRds:
    def __init__(self, sim: Simulated) -> None:
        self.sim = sim
        self.meta = SimpleNamespace(events=HierarchicalEmitter(), service_model=_model("rds"))

    def describe_db_clusters(self, **params: Any) -> dict[str, Any]:
        self.sim.call(self.meta.service_model, "DescribeDBClusters", params)
        if params.get("DBClusterIdentifier") != CLUSTER:
            raise _error("DBClusterNotFoundFault", "DescribeDBClusters")
        cluster = {
            "DBClusterIdentifier": CLUSTER,
            "Engine": "aurora-postgresql",
            "Status": "available",
            "IAMDatabaseAuthenticationEnabled": True,
            "EnabledCloudwatchLogsExports": ["iam-db-auth-error", "postgresql"],
            "DBClusterMembers": [{"DBInstanceIdentifier": f"{CLUSTER}-{n}"} for n in (1, 2)],
            "DbClusterResourceId": "cluster-SIMULATEDINCIDENTDAY",
        }
        return {"DBClusters": [cluster]}

    def describe_db_instances(self, **params: Any) -> dict[str, Any]:
        self.sim.call(self.meta.service_model, "DescribeDBInstances", params)
        raise _error("DBInstanceNotFound", "DescribeDBInstances")


@dataclass(frozen=True)
class Truth:
    """What the whole day holds, from the schedule."""

    events: int
    by_user: Counter[str]
    by_code: Counter[str]
    by_caller: Counter[str]
    parsed: int
    first_ms: int
    last_ms: int


def truth(day: Day, a: int, b: int) -> Truth:
    by_user: Counter[str] = Counter()
    by_code: Counter[str] = Counter()
    by_caller: Counter[str] = Counter()
    events, firsts, lasts = 0, [], []
    for line_index, (n, first, last) in day.tally(a, b).items():
        line = day.lines[line_index]
        events += n
        if line.code is None or line.user is None:
            continue
        by_user[line.user] += n
        by_code[line.code] += n
        if line.caller:
            by_caller[line.caller] += n
        firsts.append(first)
        lasts.append(last)
    return Truth(
        events, by_user, by_code, by_caller, sum(by_code.values()), min(firsts), max(lasts)
    )


def self_check(day: Day, rng: random.Random, spans: int = 3, length: int = 200_000) -> None:
    """The arithmetic against event-by-event counting, on a few random ranges (one across an
    hour's edge): the truth and the Insights answers rest on it."""
    starts = [day.start_ms + HOUR_MS - length // 2] + [
        rng.randrange(day.start_ms, day.end_ms - length) for _ in range(spans)
    ]
    for a in starts:
        seen: dict[int, list[int]] = {}
        for ms in range(a, a + length):
            k = ms - day.start_ms
            hour = day.hours[k // HOUR_MS]
            line = hour.slots[(k % HOUR_MS) % len(hour.slots)]
            seen.setdefault(line, []).append(ms)
        counted = {i: (len(t), t[0], t[-1]) for i, t in seen.items()}
        assert counted == day.tally(a, a + length), f"schedule arithmetic wrong at {a}"
