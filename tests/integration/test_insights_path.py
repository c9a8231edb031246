"""A window too big for FilterLogEvents is counted exactly by Logs Insights.

moto runs no Logs Insights aggregation, so the logs client is faked at the adapter boundary: every
call but StartQuery/GetQueryResults/StopQuery goes to moto (FilterLogEvents reads the seeded
events), each Insights request is validated against botocore's service model, and the results
are computed from the events stored in moto by an independent implementation (parse.py per line,
not the query's regexes: tests/unit/test_insights_query.py checks those agree)."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.errors import AccessDenied, Throttled
from bot.adapters.aws.logs_insights import (
    InsightsFailed,
    InsightsTimedOut,
    Polling,
    run_query,
)
from bot.domain.cluster import iam_log_group
from bot.domain.insights_query import CODES_QUERY, EVENTS_QUERY, GROUPS_QUERY
from bot.domain.parse import parse_line
from bot.domain.summary import FailureSummary
from bot.domain.window import Window
from bot.sandbox.seed_aws import Failure, create_cluster, put_failures, put_lines, put_metrics
from bot.services.doctor import run_checks
from bot.services.exact_counts import (
    PATH_FILTER,
    PATH_INSIGHTS,
    ExactOptions,
    apply_exact_counts,
    count_exactly,
)
from bot.services.queries import QueryService
from bot.views.failures import failures_message
from bot.views.json_reports import failures_json

ROLE = "arn:aws:sts::123456789012:assumed-role/{}/i-0abc"
BARE = (
    "[ERROR] Failed to authenticate the connection request for user db_user because the token age "
    "is longer than 15 minutes. (Status Code: 400, Error Code:ExpiredToken)"
)
UNREADABLE = "[ERROR] Something AWS has not documented yet"


def _insights_time(ms: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)).strftime(
        "%Y-%m-%d %H:%M:%S.%f"
    )[:-3]


class InsightsFake:
    """The logs client with Logs Insights computed from moto's stored events."""

    def __init__(self, real: Any, *, polls: int = 1) -> None:
        self._real = real
        self.meta = real.meta
        self.polls = polls
        self.starts: list[dict[str, Any]] = []
        self.stopped: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._results: dict[str, tuple[list[list[dict[str, str]]], int]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def _validate(self, operation: str, params: dict[str, Any]) -> None:
        shape = self._real.meta.service_model.operation_model(operation).input_shape
        validate_parameters(params, shape)  # raises ParamValidationError

    def start_query(self, **params: Any) -> dict[str, str]:
        self._validate("StartQuery", params)
        assert params["startTime"] <= params["endTime"]
        assert 1 <= params["limit"] <= 10_000  # the API reference's range
        rows = self._answer(params)[: params["limit"]]
        with self._lock:
            query_id = f"q-{next(self._ids)}"
            self.starts.append(params)
            self._results[query_id] = (rows, self.polls)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        return {"queryId": query_id}

    def get_query_results(self, **params: Any) -> dict[str, Any]:
        self._validate("GetQueryResults", params)
        with self._lock:
            rows, polls = self._results[params["queryId"]]
            if polls > 0:
                self._results[params["queryId"]] = (rows, polls - 1)
                return {"status": "Running", "results": []}
            self.in_flight -= 1
        return {"status": "Complete", "results": rows, "statistics": {"recordsMatched": 1.0}}

    def stop_query(self, **params: Any) -> dict[str, bool]:
        self._validate("StopQuery", params)
        self.stopped.append(params["queryId"])
        return {"success": True}

    def _events(self, params: dict[str, Any]) -> Iterator[tuple[int, str]]:
        # Both bounds inclusive, in seconds: every millisecond of the end second is in.
        kwargs: dict[str, Any] = {
            "logGroupName": params["logGroupName"],
            "startTime": params["startTime"] * 1000,
            "endTime": params["endTime"] * 1000 + 999,
        }
        while True:
            page = self._real.filter_log_events(**kwargs)
            for event in page["events"]:
                yield event["timestamp"], event["message"]
            if not page.get("nextToken"):
                return
            kwargs["nextToken"] = page["nextToken"]

    def _answer(self, params: dict[str, Any]) -> list[list[dict[str, str]]]:
        query = params["queryString"]
        events = list(self._events(params))
        if query == EVENTS_QUERY:
            return [[{"field": "events", "value": str(len(events))}]]
        groups: dict[tuple[str, str, str | None], list[int]] = {}
        for ms, message in events:
            record = parse_line(message, ms)
            if record is not None:
                key = (record.code, record.user, record.caller_arn)
                groups.setdefault(key, []).append(ms)
        if query == CODES_QUERY:
            by_code: Counter[str] = Counter()
            for (code, _, _), times in groups.items():
                by_code[code] += len(times)
            return [
                [{"field": "code", "value": c}, {"field": "n", "value": str(n)}]
                for c, n in by_code.items()
            ]
        if query != GROUPS_QUERY:
            raise ClientError(
                {"Error": {"Code": "MalformedQueryException", "Message": "?"}}, "StartQuery"
            )
        rows = []
        for (code, user, caller), times in groups.items():
            row = [
                {"field": "code", "value": code},
                {"field": "quser", "value": user},
                {"field": "n", "value": str(len(times))},
                {"field": "first", "value": _insights_time(min(times))},
                {"field": "last", "value": _insights_time(max(times))},
            ]
            if caller:
                row += [
                    {"field": "wording", "value": "because"},
                    {"field": "caller", "value": caller},
                ]
            rows.append(row)
        return rows


def _failures(now: datetime, n: int, users: int, minutes: int) -> list[Failure]:
    codes = ["InvalidToken", "ExpiredToken", "NotAuthorized", "ThrottlingException"]
    start = now - timedelta(minutes=minutes)
    step = timedelta(minutes=minutes) / n
    return [
        Failure(
            start + step * i + timedelta(milliseconds=1),
            f"svc-{i % users}",
            codes[i % len(codes)],
            ROLE.format(f"role-{i % 3}"),
        )
        for i in range(n)
    ]


@pytest.fixture
def fake(aws: AwsClients, monkeypatch: pytest.MonkeyPatch) -> InsightsFake:
    client = InsightsFake(aws.logs(), polls=1)
    monkeypatch.setattr(aws, "logs", lambda: client)
    return client


def _no_sleep(_: float) -> None:
    pass


def test_a_window_past_the_budget_is_counted_exactly_by_insights(
    aws: AwsClients, fake: InsightsFake, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.adapters.aws.logs_insights.time.sleep", _no_sleep)
    create_cluster(aws.rds(), "busy-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    failures = _failures(now, 1_200, users=40, minutes=50)
    put_failures(aws.logs(), "busy-db", failures)
    put_lines(
        aws.logs(),
        iam_log_group("busy-db"),
        "busy-db-bare",
        [(now - timedelta(minutes=5), BARE), (now - timedelta(minutes=4), UNREADABLE)],
    )
    put_metrics(aws.cloudwatch(), "busy-db", failures, 0, now - timedelta(hours=1), now)
    # The cap (300) is below the metric total (1,200): FilterLogEvents would keep the newest 300.
    service = QueryService(aws, event_cap=300, clock=lambda: now, exact=ExactOptions(max_rows=50))
    report = service.failures("busy-db", timedelta(hours=1))
    assert report.path == PATH_INSIGHTS
    assert report.summary is not None
    data = failures_json("busy-db", report.window, report.summary, path=report.path)
    assert data["path"] == "insights"
    assert data["total"] == 1_201
    assert data["unparsed"] == 1
    assert not data["truncated"]
    truth_users = Counter(f.user for f in failures) + Counter({"db_user": 1})
    assert data["by_user"] == dict(truth_users)
    truth_codes = Counter(f.code for f in failures) + Counter({"ExpiredToken": 1})
    assert data["by_code"] == dict(truth_codes)
    refused = Counter(f.caller for f in failures if f.code == "NotAuthorized")
    assert data["by_caller"] == dict(refused)
    first = min(f.time for f in failures).replace(microsecond=1000)
    assert data["first_seen"] == first.isoformat().replace("+00:00", "Z")
    # Samples still come from the newest lines, read with FilterLogEvents.
    assert report.summary.unparsed_samples == [UNREADABLE]
    assert all(len(lines) == 3 for lines in report.summary.samples.values())
    # 40 users × 4 codes (× callers) are 160 groups over 50 rows: the window was split in time.
    assert len(fake.starts) > 3
    assert all(r["logGroupName"] == iam_log_group("busy-db") for r in fake.starts)
    text = str(failures_message(report).to_dict())
    assert "Counted by Logs Insights" in text


def test_a_window_within_the_budget_is_read_with_filter_log_events(
    aws: AwsClients, fake: InsightsFake, now: datetime
) -> None:
    create_cluster(aws.rds(), "calm-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    failures = _failures(now, 40, users=4, minutes=30)
    put_failures(aws.logs(), "calm-db", failures)
    put_metrics(aws.cloudwatch(), "calm-db", failures, 0, now - timedelta(hours=1), now)
    report = QueryService(aws, clock=lambda: now).failures("calm-db", timedelta(hours=1))
    assert report.path == PATH_FILTER
    assert report.summary is not None
    assert report.summary.total == 40
    assert fake.starts == []
    assert "Read with FilterLogEvents" in str(failures_message(report).to_dict())


def test_where_insights_does_not_aggregate_the_filter_read_answers_truncated(
    aws: AwsClients, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto's own StartQuery ignores `stats` (rows of events, no counts): the answer falls back
    to FilterLogEvents' newest events and says it is truncated, never a count of zero."""
    monkeypatch.setattr("bot.adapters.aws.logs_insights.time.sleep", _no_sleep)
    create_cluster(aws.rds(), "emu-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    failures = _failures(now, 60, users=3, minutes=30)
    put_failures(aws.logs(), "emu-db", failures)
    put_metrics(aws.cloudwatch(), "emu-db", failures, 0, now - timedelta(hours=1), now)
    report = QueryService(aws, event_cap=20, clock=lambda: now).failures(
        "emu-db", timedelta(hours=1)
    )
    assert report.path == PATH_FILTER
    assert report.summary is not None
    assert report.summary.truncated
    assert report.summary.total == 20
    assert "without the counts" in report.insights_error


def test_a_bot_not_allowed_to_start_queries_still_answers_from_the_newest_events(
    aws: AwsClients, fake: InsightsFake, now: datetime
) -> None:
    create_cluster(aws.rds(), "deny-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    failures = _failures(now, 60, users=3, minutes=30)
    put_failures(aws.logs(), "deny-db", failures)
    put_metrics(aws.cloudwatch(), "deny-db", failures, 0, now - timedelta(hours=1), now)

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "x")

    fake.start_query = refuse  # type: ignore[method-assign,assignment]
    report = QueryService(aws, event_cap=20, clock=lambda: now).failures(
        "deny-db", timedelta(hours=1)
    )
    assert report.path == PATH_FILTER
    assert report.summary is not None
    assert report.summary.truncated
    assert "logs:StartQuery" in report.insights_error
    text = str(failures_message(report).to_dict())
    assert "Logs Insights could not count this window" in text


def test_a_filter_read_that_hits_the_cap_anyway_gets_exact_counts(
    aws: AwsClients, fake: InsightsFake, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No metric (missing or late): FilterLogEvents reads first, hits the cap, and Logs Insights
    counts the window."""
    monkeypatch.setattr("bot.adapters.aws.logs_insights.time.sleep", _no_sleep)
    create_cluster(aws.rds(), "quiet-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    failures = _failures(now, 500, users=7, minutes=40)
    put_failures(aws.logs(), "quiet-db", failures)
    report = QueryService(aws, event_cap=100, clock=lambda: now).failures(
        "quiet-db", timedelta(hours=1)
    )
    assert report.path == PATH_INSIGHTS
    assert report.summary is not None
    assert report.summary.total == 500
    assert dict(report.summary.top_users(10)) == dict(Counter(f.user for f in failures))


def test_more_distinct_users_in_a_minute_than_rows_are_itemised_up_to_the_rows(
    aws: AwsClients, fake: InsightsFake, now: datetime
) -> None:
    """Hostile: 120 distinct user names within one minute, 50 rows per result. The minute is
    itemised up to its rows; the rest is counted by code in the totals, which stay exact."""
    failures = [
        Failure(
            now - timedelta(seconds=50) + timedelta(milliseconds=300 * i), f"u{i}", "InvalidToken"
        )
        for i in range(120)
    ] + _failures(now, 30, users=3, minutes=20)
    put_failures(aws.logs(), "hostile-db", failures)
    window = Window(now - timedelta(minutes=30), now)
    counts = count_exactly(
        fake,  # type: ignore[arg-type]
        iam_log_group("hostile-db"),
        window,
        ExactOptions(max_rows=50, concurrency=3),
        sleep=_no_sleep,
    )
    assert counts.full_slices == 1
    assert counts.parsed == 150
    summary = FailureSummary()
    apply_exact_counts(summary, counts)
    assert summary.total == 150
    assert summary.by_code == Counter(f.code for f in failures)
    itemised = sum(n for _, n in summary.top_users(1_000))
    assert summary.users_overflow == 150 - itemised > 0
    assert fake.most_in_flight <= 3
    # The full slice was split down to a minute before it was counted by code.
    by_code = next(s for s in fake.starts if s["queryString"] == CODES_QUERY)
    assert by_code["endTime"] - by_code["startTime"] < 60


class ScriptedClient:
    """A logs client answering StartQuery and GetQueryResults from a script."""

    def __init__(self, statuses: list[str], start_error: str | None = None) -> None:
        self.statuses = statuses
        self.start_error = start_error
        self.stopped: list[str] = []

    def start_query(self, **params: Any) -> dict[str, str]:
        if self.start_error:
            raise ClientError({"Error": {"Code": self.start_error, "Message": "no"}}, "StartQuery")
        return {"queryId": "q-1"}

    def get_query_results(self, **params: Any) -> dict[str, Any]:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        rows = [[{"field": "events", "value": "3"}]] if status == "Complete" else []
        return {"status": status, "results": rows}

    def stop_query(self, **params: Any) -> dict[str, bool]:
        self.stopped.append(params["queryId"])
        return {"success": True}


WINDOW = Window(datetime(2025, 8, 11, tzinfo=UTC), datetime(2025, 8, 11, 1, tzinfo=UTC))


def _polling(seconds: float) -> Polling:
    moments = itertools.count()
    clock: Callable[[], float] = lambda: float(next(moments))  # noqa: E731
    return Polling(give_up_at=seconds, clock=clock, sleep=_no_sleep)


def test_the_adapter_polls_until_complete() -> None:
    client = ScriptedClient(["Scheduled", "Running", "Unknown", "Complete"])
    result = run_query(client, "g", WINDOW, EVENTS_QUERY, _polling(60))  # type: ignore[arg-type]
    assert result.rows == [[{"field": "events", "value": "3"}]]
    assert client.stopped == []


def test_the_adapter_stops_a_query_past_its_deadline() -> None:
    client = ScriptedClient(["Running"])
    with pytest.raises(InsightsTimedOut):
        run_query(client, "g", WINDOW, EVENTS_QUERY, _polling(5))  # type: ignore[arg-type]
    assert client.stopped == ["q-1"]


@pytest.mark.parametrize("status", ["Failed", "Cancelled", "Timeout"])
def test_the_adapter_says_when_insights_ended_the_query(status: str) -> None:
    client = ScriptedClient(["Running", status])
    with pytest.raises(InsightsFailed, match=status):
        run_query(client, "g", WINDOW, EVENTS_QUERY, _polling(60))  # type: ignore[arg-type]


def test_the_adapter_translates_refusals() -> None:
    denied = ScriptedClient(["Complete"], start_error="AccessDeniedException")
    with pytest.raises(AccessDenied, match="logs:StartQuery"):
        run_query(denied, "g", WINDOW, EVENTS_QUERY, _polling(60))  # type: ignore[arg-type]
    busy = ScriptedClient(["Complete"], start_error="LimitExceededException")
    with pytest.raises(Throttled, match="as many queries"):
        run_query(busy, "g", WINDOW, EVENTS_QUERY, _polling(60))  # type: ignore[arg-type]


def test_doctor_probes_start_query(aws: AwsClients) -> None:
    checks = {c.name: c for c in run_checks(aws, None)}
    assert checks["logs:StartQuery"].ok
    assert "logs:GetQueryResults and logs:StopQuery" in checks["logs:StartQuery"].detail

    def deny(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "x")

    aws.logs().meta.events.register("before-send.logs.StartQuery", deny)
    check = {c.name: c for c in run_checks(aws, None)}["logs:StartQuery"]
    assert not check.ok
    assert check.only_for
    assert "missing" in check.detail
