"""The account's log-read budget: slots spaced by the rate, every attempt of a logs call (botocore's
retries too) waiting for one before it is signed, the deadline refusing a wait, the setting, and
the answer that says so with the metric totals."""

from __future__ import annotations

import contextvars
import itertools
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.config import Config

from bot.adapters.aws.clients import AwsClients, AwsSettings
from bot.adapters.aws.rate_budget import (
    LATE_ALLOWANCE_SECONDS,
    LogReadBudgetBusy,
    RateBudget,
    ReadRates,
)
from bot.config import ConfigError, load_settings
from bot.ops import answer_deadline
from bot.ops.rate_slots import LocalSlots, Reservation
from bot.services.queries import FailuresReport
from bot.views.failures import failures_message
from handlers.context import Deps
from tests.unit.test_render import CLUSTER, WINDOW, metrics

# Calls are spaced STRETCH / rate seconds apart.
STRETCH = 1 + LATE_ALLOWANCE_SECONDS


class FakeTime:
    """A clock that only sleeping moves."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def budget(time: FakeTime) -> RateBudget:
    return RateBudget(
        LocalSlots(time),
        ReadRates(logs=4, insights=8),
        seconds_left=lambda: None,
        sleep=time.sleep,
        clock=time,
    )


def test_slots_follow_each_other_by_the_spacing_and_a_refusal_reserves_nothing() -> None:
    time = FakeTime()
    slots = LocalSlots(time)
    waits = [slots.reserve("a", 0.5, None).wait for _ in range(4)]
    assert waits == [0.0, 0.5, 1.0, 1.5]
    assert slots.reserve("a", 0.5, 1.0) == Reservation(False, 2.0)
    assert slots.reserve("a", 0.5, 2.0) == Reservation(True, 2.0)  # the refusal took nothing
    assert slots.reserve("b", 0.5, None) == Reservation(True, 0.0)  # budgets are separate
    time.now += 10
    assert slots.reserve("a", 0.5, None) == Reservation(True, 0.0)  # idle time is not saved up


def test_calls_wait_so_that_no_second_holds_more_than_the_rate() -> None:
    time = FakeTime()
    rate_budget = budget(time)
    sent = []
    for _ in range(20):
        rate_budget.take("123456789012/eu-central-1", "FilterLogEvents")
        sent.append(time.now)
    spacing = (1 + LATE_ALLOWANCE_SECONDS) / 4
    assert [round(b - a, 9) for a, b in itertools.pairwise(sent)] == [spacing] * 19
    # Even with each call leaving up to the allowance late, any 4 + 1 calls span over a second.
    assert all(sent[i + 4] - sent[i] - LATE_ALLOWANCE_SECONDS > 1 - 1e-9 for i in range(16))


def test_logs_insights_and_each_place_have_budgets_of_their_own() -> None:
    time = FakeTime()
    rate_budget = budget(time)
    for place, api in [
        ("1/eu-central-1", "FilterLogEvents"),
        ("1/eu-central-1", "StartQuery"),
        ("1/us-east-1", "FilterLogEvents"),
        ("2/eu-central-1", "FilterLogEvents"),
    ]:
        rate_budget.take(place, api)
    assert time.slept == []
    rate_budget.take("1/eu-central-1", "GetQueryResults")  # shares StartQuery's
    rate_budget.take("1/eu-central-1", "StopQuery")
    assert time.slept == [pytest.approx(STRETCH / 8)] * 2


def test_a_wait_past_the_deadline_is_refused_and_takes_no_slot() -> None:
    time = FakeTime()
    slots = LocalSlots(time)
    deadline = time.now + 2.0
    busy = RateBudget(
        slots,
        ReadRates(logs=1),
        seconds_left=lambda: deadline - time.now,
        sleep=time.sleep,
        clock=time,
    )
    refused = None
    for _ in range(3):  # slots at +0, +1.2, +2.4 s: the third is past the deadline at +2 s
        try:
            busy.take("1/eu-central-1", "FilterLogEvents")
        except LogReadBudgetBusy as error:
            refused = error
            break
    assert refused is not None
    assert refused.place == "1/eu-central-1"
    assert refused.wait_seconds == pytest.approx(STRETCH)  # measured after the two sleeps
    assert "busy" in str(refused)
    assert time.slept == [pytest.approx(STRETCH)]
    assert slots.reserve("1/eu-central-1/logs", STRETCH, None).wait == pytest.approx(STRETCH)


def test_a_free_slot_is_taken_even_in_the_margin_past_the_deadline() -> None:
    time = FakeTime()
    slots = LocalSlots(time)
    margin = RateBudget(slots, seconds_left=lambda: -5.0, sleep=time.sleep, clock=time)
    margin.take("1/eu-central-1", "FilterLogEvents")  # free now: no wait, so no refusal
    with pytest.raises(LogReadBudgetBusy):
        margin.take("1/eu-central-1", "FilterLogEvents")


def test_a_call_sent_too_late_takes_a_new_slot() -> None:
    time = FakeTime()
    late = budget(time)
    spacing = STRETCH / 4
    first = late.take("p", "FilterLogEvents")
    assert late.on_time("p", "FilterLogEvents", first) == first  # sent on time: nothing to do
    second = late.take("p", "FilterLogEvents")
    assert second == pytest.approx(first + spacing)
    time.now += 0.25  # delayed between its slot and the send (signing, a busy interpreter)
    third = late.on_time("p", "FilterLogEvents", second)
    # It leaves its slot unused and waits for the next free one.
    assert third == pytest.approx(first + 2 * spacing)
    assert time.slept == [pytest.approx(spacing), pytest.approx(spacing - 0.25)]


def test_a_late_call_goes_anyway_when_no_slot_is_free_soon() -> None:
    time = FakeTime()
    slots = LocalSlots(time)
    late = RateBudget(
        slots, ReadRates(logs=1), seconds_left=lambda: None, sleep=time.sleep, clock=time
    )
    for _ in range(100):  # others hold the next 100 slots: two minutes
        slots.reserve("p/logs", STRETCH, None)
    slot = time.now - 1.0
    assert late.on_time("p", "FilterLogEvents", slot) == slot  # signed already: no long wait
    assert time.slept == []


# Through botocore: every attempt of the call waits, before it is signed -----------------------


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _answer(request: Any, status: int, body: dict[str, Any]) -> AWSResponse:
    return AWSResponse(
        request.url,
        status,
        HTTPHeaders.from_dict({"Content-Type": "application/x-amz-json-1.1"}),
        _Body(json.dumps(body).encode()),
    )


def test_botocore_retries_of_a_throttled_call_spend_slots_too() -> None:
    time = FakeTime()
    steps: list[str] = []

    class Recording(RateBudget):
        def take(self, place: str, api: str, longest: float | None = None) -> float:
            steps.append(f"take {place} {api}")
            return super().take(place, api, longest)

        def on_time(self, place: str, api: str, slot: float) -> float:
            steps.append("checked")
            return super().on_time(place, api, slot)

    rate_budget = Recording(
        LocalSlots(time), ReadRates(), seconds_left=lambda: None, sleep=time.sleep, clock=time
    )
    client = boto3.client(
        "logs",
        region_name="eu-central-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )
    rate_budget.register(client.meta.events, lambda: "123456789012/eu-central-1")

    def right_after_taking(request: Any, **_: Any) -> None:
        steps.append("signed" if "Authorization" in request.headers else "unsigned")

    def aws(request: Any, **_: Any) -> AWSResponse:
        steps.append("sent")
        if steps.count("sent") == 1:
            return _answer(request, 400, {"__type": "ThrottlingException", "message": "Rate"})
        return _answer(request, 200, {"events": [], "searchedLogStreams": []})

    # Same event as the budget's, registered after it: called right after it.
    client.meta.events.register(
        "request-created.cloudwatch-logs.FilterLogEvents", right_after_taking
    )
    client.meta.events.register("before-send.cloudwatch-logs", aws)  # type: ignore[arg-type]
    client.filter_log_events(logGroupName="/aws/rds/cluster/prod-db/iam-db-auth-error")
    client.describe_log_groups()  # not in the budget
    take = "take 123456789012/eu-central-1 FilterLogEvents"
    # One slot per attempt, the throttled one's retry too, each taken before signing.
    # Each is checked again for lateness right before it is sent.
    attempt = [take, "unsigned", "checked", "sent"]
    assert steps == [*attempt, *attempt, "sent"]
    assert time.slept == [pytest.approx(STRETCH / 4)]


def test_only_the_logs_client_waits_for_the_budget() -> None:
    registered: list[str] = []

    class Spy(RateBudget):
        def register(self, events: Any, place: Any) -> None:
            registered.append(events.__class__.__name__)

    spy = Spy(LocalSlots())
    aws = AwsClients(
        AwsSettings(region="eu-central-1", endpoint_url="http://127.0.0.1:9", budget=spy)
    )
    aws.cloudwatch(), aws.rds(), aws.sts()
    assert registered == []
    aws.logs()
    aws.logs()  # built once
    assert len(registered) == 1
    assert AwsSettings(budget=spy) == AwsSettings()  # settings compare without it


# The setting and the answer ------------------------------------------------------------------


def test_the_config_file_sets_the_rates(tmp_path: Path) -> None:
    config = tmp_path / "iamauth.toml"
    assert load_settings({}).read_rates == ReadRates(logs=4.0, insights=8.0)
    config.write_text("[limits]\nlogs_rate = 2\ninsights_rate = 0.5\n")
    assert load_settings({"IAMAUTH_CONFIG": str(config)}).read_rates == ReadRates(2.0, 0.5)
    config.write_text('[limits]\nevent_cap = 10\nlogs_rate = "fast"\n')
    with pytest.raises(ConfigError, match=r"line 3: \[limits\] logs_rate must be requests per"):
        load_settings({"IAMAUTH_CONFIG": str(config)})
    config.write_text("[limits]\ninsights_rate = 0\n")
    with pytest.raises(ConfigError, match="insights_rate"):
        load_settings({"IAMAUTH_CONFIG": str(config)})


def test_a_busy_budget_answers_with_the_metric_totals_meanwhile() -> None:
    busy = LogReadBudgetBusy("123456789012/eu-central-1", 125.0)
    report = FailuresReport(CLUSTER, WINDOW, None, False, metrics(), log_budget_busy=busy)
    message = failures_message(report).to_dict()
    text = json.dumps(message)
    assert "log-read budget for `123456789012/eu-central-1` is busy" in text
    assert "about 3 min" in text
    assert "metric totals meanwhile" in text
    assert "*CloudWatch metrics*: 3 failures of 3 requests" in text
    assert "log export is *off*" not in text  # the summary is missing, not the export


def test_work_after_the_ack_must_answer_within_the_response_url_life() -> None:
    assert answer_deadline.seconds_left() is None  # no request: no deadline (digests)
    seen: list[float | None] = []

    class Inline:
        def submit(self, work: Any, *args: Any) -> None:
            work(*args)

    deps = Deps.__new__(Deps)
    object.__setattr__(deps, "jobs", Inline())
    contextvars.copy_context().run(deps.later, lambda: seen.append(answer_deadline.seconds_left()))
    assert seen
    assert seen[0] is not None
    life = answer_deadline.RESPONSE_URL_SECONDS - answer_deadline.ANSWER_MARGIN_SECONDS
    assert life - 60 < seen[0] <= life
    assert answer_deadline.seconds_left() is None  # the listener's context, not this one
    assert math.isclose(life, 29 * 60)
