"""Exact counts of a window too big for FilterLogEvents: Logs Insights counts every failure by
code, user and caller server-side; FilterLogEvents reads only the newest pages, for samples.

The metric total says beforehand whether FilterLogEvents could read the whole window within the
time budget (`[limits] exact_read_seconds`) and the event cap (bot/domain/insights_query.py). If
not, the window is counted by Logs Insights: in time slices run a few at a time (queries in
flight count against the account's limit), a slice whose result is full (10,000 rows) split in
halves down to a minute, and a full minute counted by code beyond the groups it itemises.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.adapters.aws.cloudwatch_logs import read_newest
from bot.adapters.aws.errors import AwsError, LogGroupMissing
from bot.adapters.aws.logs_insights import Polling, QueryResult, run_query
from bot.adapters.aws.rate_budget import LogReadBudgetBusy
from bot.domain.insights_query import (
    CODES_QUERY,
    DEFAULT_EXACT_READ_SECONDS,
    DEFAULT_FILTER_REQUESTS_PER_SECOND,
    EVENTS_QUERY,
    GROUPS_QUERY,
    MAX_ROWS,
    ExactCounts,
    events_of,
    filter_read_fits,
    halves,
)
from bot.domain.metrics import MetricsReport
from bot.domain.read_plan import EventCounts, counts_from_report
from bot.domain.summary import FailureSummary
from bot.domain.window import Window

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

log = logging.getLogger(__name__)

PATH_FILTER = "filter"  # read with FilterLogEvents
PATH_INSIGHTS = "insights"  # counted by Logs Insights
# Queries in flight at once for one answer: well under the account's limit (30 or more), which
# every other user of Logs Insights in the account shares.
DEFAULT_CONCURRENCY = 4
# How long one exact count may take before it gives up (its queries are then stopped).
DEFAULT_COUNT_SECONDS = 240.0
# The newest events read with FilterLogEvents on the Insights path: one page, for the samples.
SAMPLE_EVENTS = 10_000

Runner = Callable[["CloudWatchLogsClient", str, Window, str, Polling, int], QueryResult]


class InsightsUnusable(AwsError):
    """Logs Insights answered, but not with aggregated rows (the emulator ignores `stats`)."""


@dataclass(frozen=True)
class ExactOptions:
    read_seconds: float = DEFAULT_EXACT_READ_SECONDS  # 0: never ask Logs Insights
    requests_per_second: float = DEFAULT_FILTER_REQUESTS_PER_SECOND
    concurrency: int = DEFAULT_CONCURRENCY
    count_seconds: float = DEFAULT_COUNT_SECONDS
    max_rows: int = MAX_ROWS  # rows of one result (StartQuery's `limit`)

    def filter_fits(self, metrics: MetricsReport, event_cap: int) -> bool:
        """Whether FilterLogEvents can read the window's every failure (the metric total)."""
        return filter_read_fits(
            metrics.total("IamDbAuthConnectionFailure"),
            self.read_seconds,
            event_cap,
            self.requests_per_second,
        )


def count_exactly(
    client: CloudWatchLogsClient,
    group: str,
    window: Window,
    options: ExactOptions = ExactOptions(),
    *,
    runner: Runner = run_query,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ExactCounts:
    """Every failure of `window` counted by Logs Insights. Raises the adapter's errors; on any of
    them, the queries still running are stopped."""
    polling = Polling(clock() + options.count_seconds, clock, sleep, threading.Event())
    counts = ExactCounts()
    with ThreadPoolExecutor(max(options.concurrency, 1), thread_name_prefix="insights") as pool:

        def submit(piece: Window, query: str) -> Future[QueryResult]:
            counts.queries += 1
            return pool.submit(runner, client, group, piece, query, polling, options.max_rows)

        events = submit(window, EVENTS_QUERY)
        pending: dict[Future[QueryResult], tuple[Window, Mapping[str, int] | None]] = {
            submit(piece, GROUPS_QUERY): (piece, None)
            for piece in _first_slices(window, options.concurrency)
        }
        try:
            while pending:
                waiting = [*pending] if events.done() else [*pending, events]
                done, _ = wait(waiting, return_when=FIRST_COMPLETED)
                if events in done:  # checked first: a service that ignored `stats` stops here
                    counts.events = _events_total(events)
                for future in done - {events}:
                    piece, itemised = pending.pop(future)
                    rows = future.result().rows
                    if itemised is not None:  # a full minute's totals by code, beyond its groups
                        counts.add_code_totals(rows, itemised)
                        continue
                    full = len(rows) >= options.max_rows
                    split = halves(piece) if full else None
                    if split is not None:
                        for half in split:
                            pending[submit(half, GROUPS_QUERY)] = (half, None)
                        continue
                    counts.slices += 1
                    found = counts.add_rows(rows)
                    if full:
                        counts.full_slices += 1
                        pending[submit(piece, CODES_QUERY)] = (piece, found)
            counts.events = _events_total(events)
        except BaseException:
            polling.abandon.set()  # the queries still polling stop theirs
            for future in pending:
                future.cancel()
            raise
    return counts


def _events_total(events: Future[QueryResult]) -> int:
    total = events_of(events.result().rows)
    if total is None:
        raise InsightsUnusable("CloudWatch Logs Insights answered without the counts asked for.")
    return total


def _first_slices(window: Window, wanted: int) -> list[Window]:
    """The window in up to `wanted` slices (halving the longest), so they run side by side."""
    slices = [window]
    while len(slices) < wanted:
        longest = max(slices, key=lambda piece: piece.duration)
        split = halves(longest)
        if split is None:
            break
        at = slices.index(longest)
        slices[at : at + 1] = list(split)
    return slices


def apply_exact_counts(summary: FailureSummary, counts: ExactCounts) -> None:
    """Give `summary` the whole window's counts; its samples stay those of the pages read."""
    summary.take_exact_counts(
        [(g.user, g.code, g.caller, g.n) for g in counts.most_first()],
        dict(counts.not_itemised),
        counts.unparsed,
        counts.first_seen,
        counts.last_seen,
    )


def exact_log_summary(
    client: CloudWatchLogsClient,
    group: str,
    window: Window,
    options: ExactOptions,
    *,
    sample_events: int = SAMPLE_EVENTS,
    keep_events: bool = False,
    runner: Runner = run_query,
    event_counts: EventCounts | None = None,
) -> FailureSummary | None:
    """The summary of `window` counted by Logs Insights, with samples (and, with `keep_events`,
    events to match) from the newest `sample_events` read with FilterLogEvents. None when the log
    group does not exist (yet)."""
    try:
        # Counted first: where Logs Insights cannot count, no page was read for nothing.
        counts = count_exactly(client, group, window, options, runner=runner)
        # Planned from the metric counts: the newest pages only, each event read once.
        newest = read_newest(client, group, window, sample_events, counts=event_counts)
    except LogGroupMissing:
        return None
    summary = FailureSummary(events=[] if keep_events else None)
    for page in newest.event_pages:
        summary.add_timed_lines([m for _, m in page], [t for t, _ in page])
    apply_exact_counts(summary, counts)
    if keep_events and newest.truncated:
        # The counts are the whole window's, but the events kept (matched to the engine's log for
        # `clients`) start here; not `truncated`, so no reply calls the counts partial.
        summary.covered_from = newest.covered_from
    return summary


def counted_summary(
    client: CloudWatchLogsClient,
    group: str,
    window: Window,
    options: ExactOptions,
    metrics: MetricsReport,
    event_cap: int,
    read_filter: Callable[[], FailureSummary | None],
    *,
    keep_events: bool = False,
    runner: Runner = run_query,
) -> tuple[FailureSummary | None, str, str]:
    """The window's summary, the path that counted it (PATH_FILTER or PATH_INSIGHTS), and why
    Logs Insights could not count a window it should have ("" otherwise).

    FilterLogEvents (`read_filter`) reads the window when the metric total says it can within the
    budget and the cap; otherwise Logs Insights counts it. A FilterLogEvents read that hit the cap
    anyway (the metric was missing or late) gets its counts from Logs Insights too. Where Logs
    Insights cannot count (not allowed, too busy, failed, no aggregated rows as in the emulator),
    the FilterLogEvents read answers, truncated as it says: the answer worked before Insights."""
    why = ""
    if not options.filter_fits(metrics, event_cap):
        sample = event_cap if keep_events else min(SAMPLE_EVENTS, event_cap)
        try:
            summary = exact_log_summary(
                client,
                group,
                window,
                options,
                sample_events=sample,
                keep_events=keep_events,
                runner=runner,
                event_counts=counts_from_report(metrics, window.end),
            )
        except LogReadBudgetBusy:
            raise
        except AwsError as error:
            why = _gave_up(group, error)
        else:
            return summary, PATH_INSIGHTS, ""
    summary = read_filter()
    if summary is None or not summary.truncated or options.read_seconds <= 0 or why:
        return summary, PATH_FILTER, why
    try:
        counts = count_exactly(client, group, window, options, runner=runner)
    except LogReadBudgetBusy:
        raise
    except AwsError as error:
        return summary, PATH_FILTER, _gave_up(group, error)
    apply_exact_counts(summary, counts)
    return summary, PATH_INSIGHTS, ""


def _gave_up(group: str, error: AwsError) -> str:
    log.warning("Logs Insights could not count %s: %s", group, error)
    return str(error)
