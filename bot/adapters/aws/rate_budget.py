"""One budget for the account's log-read quotas: every FilterLogEvents, StartQuery,
GetQueryResults and StopQuery call of a logs client waits for a slot of its (account, region)
budget first, in whichever process it is made.

AWS throttles these APIs per account and region, whoever calls: web workers, the clock, other tools
of the account. The slots are shared through PostgreSQL when DATABASE_URL is PostgreSQL
(bot/adapters/store/rate_slots.py), per process on SQLite (bot/ops/rate_slots.py).

The wait happens on botocore's `request-created` event of each attempt, before the request is
signed: so botocore's own retries of a throttled call spend a slot too, and a long wait cannot
outlive the signature (SigV4 allows 5 minutes). On `before-send`, just before the HTTP request, an
attempt delayed past LATE_ALLOWANCE_SECONDS since its slot takes a new one. A call whose slot would
come after its request's answer deadline (bot/ops/answer_deadline.py) reserves nothing and raises
LogReadBudgetBusy.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.adapters.aws.errors import AwsError
from bot.ops import answer_deadline
from bot.ops.rate_slots import Slots

# AWS's default quotas (requests per second per account per region, not adjustable): FilterLogEvents
# 5 in eu-central-1 and four other regions, 10 in most, 25 in us-east-1; StartQuery 10,
# GetQueryResults 10 (StopQuery has no published quota). The defaults stay below the lowest.
DEFAULT_LOGS_RATE = 4.0
DEFAULT_INSIGHTS_RATE = 8.0
LOG_READ_APIS = ("FilterLogEvents",)
INSIGHTS_APIS = ("StartQuery", "GetQueryResults", "StopQuery")
# Calls are spaced (1 s + this) / rate apart, so that any second holds at most `rate` of them
# on AWS's side even when a call leaves up to this late after its slot (thread scheduling, the
# HTTP connection pool).
LATE_ALLOWANCE_SECONDS = 0.2
# A call about to be sent later than the allowance after its slot takes a new slot rather than
# crowd the next ones; after this many tries, or if no slot is free within RESLOT_SECONDS (it is
# signed already, and SigV4 allows 5 minutes), it goes anyway.
MAX_TRIES = 3
RESLOT_SECONDS = 60.0
# botocore's service id for CloudWatch Logs, in its event names.
_SERVICE_ID = "cloudwatch-logs"


@dataclass(frozen=True)
class ReadRates:
    """Requests per second per (account, region): FilterLogEvents; and the Logs Insights calls
    (StartQuery, GetQueryResults, StopQuery) together."""

    logs: float = DEFAULT_LOGS_RATE
    insights: float = DEFAULT_INSIGHTS_RATE


class LogReadBudgetBusy(AwsError):
    """The call would wait for the log-read budget past the request's answer deadline."""

    def __init__(self, place: str, wait_seconds: float) -> None:
        self.place = place
        self.wait_seconds = wait_seconds
        minutes = max(1, math.ceil(wait_seconds / 60))
        super().__init__(
            f"AWS's log-read budget for {place} is busy with other requests for about "
            f"{minutes} min; try again later."
        )


class RateBudget:
    """The process's view of the shared budgets; `slots` holds their state."""

    def __init__(
        self,
        slots: Slots,
        rates: ReadRates = ReadRates(),
        *,
        seconds_left: Callable[[], float | None] = answer_deadline.seconds_left,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.slots = slots
        self.rates = rates
        self._seconds_left = seconds_left
        self._sleep = sleep
        self._clock = clock
        # The slot this thread's attempt waited for, from request-created to its before-send.
        self._attempt = threading.local()

    def register(self, events: Any, place: Callable[[], str]) -> None:
        """Make every limited call of a logs client (its `meta.events`) wait for a slot of
        `place()`'s budget (`account/region`, asked at the first call): before it is signed, and
        again just before it is sent if it was delayed past the allowance since."""
        for api in (*LOG_READ_APIS, *INSIGHTS_APIS):

            def before_signing(*, api: str = api, **_: Any) -> None:
                self._attempt.slot = self.take(place(), api)

            def before_sending(*, api: str = api, **_: Any) -> None:
                slot = getattr(self._attempt, "slot", None)
                if slot is not None:
                    self._attempt.slot = self.on_time(place(), api, slot)

            events.register(
                f"request-created.{_SERVICE_ID}.{api}",
                before_signing,
                unique_id=f"iamauth-rate-budget-{api}",
            )
            events.register(
                f"before-send.{_SERVICE_ID}.{api}",
                before_sending,
                unique_id=f"iamauth-rate-budget-late-{api}",
            )

    def take(self, place: str, api: str, longest: float | None = None) -> float:
        """Wait for a slot of `api`'s budget at `place`; the slot's time (of `clock`).
        LogReadBudgetBusy if it would come after this request's answer deadline (or `longest`
        seconds from now)."""
        logs = api in LOG_READ_APIS
        rate = self.rates.logs if logs else self.rates.insights
        name = f"{place}/{'logs' if logs else 'insights'}"
        spacing = (1.0 + LATE_ALLOWANCE_SECONDS) / rate
        left = self._seconds_left()
        limits = [x for x in (left, longest) if x is not None]
        # In the margin past the deadline a free slot is still taken: the answer can still go.
        reservation = self.slots.reserve(name, spacing, max(min(limits), 0.0) if limits else None)
        if not reservation.granted:
            raise LogReadBudgetBusy(place, reservation.wait)
        slot = self._clock() + reservation.wait
        if reservation.wait > 0:
            self._sleep(reservation.wait)
        return slot

    def on_time(self, place: str, api: str, slot: float) -> float:
        """A call about to be sent more than the allowance after its slot leaves that slot unused
        and waits for a new one (at most MAX_TRIES times, and only briefly: it is signed
        already); the slot it goes with."""
        for _ in range(MAX_TRIES):
            if self._clock() - slot <= LATE_ALLOWANCE_SECONDS:
                break
            try:
                slot = self.take(place, api, longest=RESLOT_SECONDS)
            except LogReadBudgetBusy:
                break  # it goes late rather than not at all
        return slot
