"""The same question asked twice within the cache time hits AWS once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from bot.adapters.aws.clients import AwsClients
from bot.adapters.aws.errors import ClusterNotFound
from bot.sandbox.seed_aws import Failure, create_cluster, put_failures
from bot.services.queries import QueryService


def count_calls(aws: AwsClients) -> list[str]:
    calls: list[str] = []
    for client in (aws.rds(), aws.logs(), aws.cloudwatch()):
        client.meta.events.register("before-send", lambda request, **_: calls.append(request.url))
    return calls


def test_repeated_and_concurrent_questions_share_one_answer(aws: AwsClients, now: datetime) -> None:
    create_cluster(aws.rds(), "prod-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    put_failures(
        aws.logs(), "prod-db", [Failure(now - timedelta(minutes=5), "app", "InvalidToken")], 1
    )
    seconds = [0.0]
    service = QueryService(aws, clock=lambda: now, cache_seconds=30, cache_clock=lambda: seconds[0])
    calls = count_calls(aws)
    with ThreadPoolExecutor(8) as pool:
        reports = list(
            pool.map(lambda _: service.failures("prod-db", timedelta(hours=1)), range(8))
        )
    first = len(calls)
    assert first >= 3  # DescribeDBClusters, metrics, FilterLogEvents
    assert all(r is reports[0] for r in reports)
    seconds[0] = 29.0
    assert service.failures("prod-db", timedelta(hours=1)) is reports[0]
    assert len(calls) == first
    service.failures("prod-db", timedelta(hours=24))  # another question
    assert len(calls) > first
    seconds[0] = 31.0
    before = len(calls)
    report = service.failures("prod-db", timedelta(hours=1))
    assert report is not reports[0]
    assert report.summary is not None
    assert report.summary.total == 1
    assert len(calls) > before


def test_errors_are_not_cached(aws: AwsClients, now: datetime) -> None:
    service = QueryService(aws, clock=lambda: now, cache_seconds=30)
    failures: list[Any] = []
    for _ in range(2):
        try:
            service.metrics("late-db", timedelta(hours=1))
        except ClusterNotFound as error:
            failures.append(error)
    assert len(failures) == 2
    create_cluster(aws.rds(), "late-db", iam=True, exports=[], instances=1)
    info, _ = service.metrics("late-db", timedelta(hours=1))
    assert info.identifier == "late-db"


class _Body:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body

    def read(self, *_: Any) -> bytes:
        return self.body


def test_throttling_is_retried_and_the_reply_says_slower_not_wrong(
    aws: AwsClients, now: datetime
) -> None:
    from botocore.awsrequest import AWSResponse

    from bot.views.failures import SLOWER_NOT_WRONG, failures_message

    create_cluster(aws.rds(), "prod-db", iam=True, exports=["iam-db-auth-error"], instances=1)
    put_failures(
        aws.logs(), "prod-db", [Failure(now - timedelta(minutes=5), "app", "InvalidToken")], 1
    )
    throttled: list[int] = []

    def throttle_once(request: Any, **_: Any) -> AWSResponse | None:
        if throttled:
            return None
        throttled.append(1)
        body = (
            b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
            b"<Message>Rate exceeded</Message></Error><RequestId>r1</RequestId></ErrorResponse>"
        )
        return AWSResponse(request.url, 400, {"Content-Type": "text/xml"}, _Body(body))  # type: ignore[arg-type]

    aws.rds().meta.events.register("before-send.rds.DescribeDBClusters", throttle_once)  # type: ignore[arg-type]
    report = QueryService(aws, clock=lambda: now, cache_seconds=0).failures(
        "prod-db", timedelta(hours=1)
    )
    assert throttled == [1]
    assert report.retried == 1
    assert report.summary is not None
    assert report.summary.total == 1  # complete, not wrong
    texts = str(failures_message(report).to_dict())
    assert SLOWER_NOT_WRONG in texts
