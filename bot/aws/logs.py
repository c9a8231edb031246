"""FilterLogEvents over a cluster's `iam-db-auth-error` log group: every page, every stream."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from bot.aws.errors import ACCESS_DENIED_CODES, AccessDenied, AwsError, LogGroupMissing
from bot.domain.window import Window

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

DEFAULT_EVENT_CAP = 100_000


def iam_log_group(cluster: str) -> str:
    return f"/aws/rds/cluster/{cluster}/iam-db-auth-error"


def _ms(moment: Any) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class LogScan:
    """Reads events of one window; after iterating, `truncated` says whether the cap stopped it."""

    client: CloudWatchLogsClient
    group: str
    window: Window
    cap: int = DEFAULT_EVENT_CAP
    truncated: bool = False
    pages_read: int = 0
    events: int = 0

    def __iter__(self) -> Iterator[tuple[int, str]]:
        """Yield (timestamp in ms, message) until no nextToken is left or `cap` events were read."""
        for page in self.event_pages():
            yield from page

    def pages(self) -> Iterator[list[str]]:
        """The messages, a FilterLogEvents page at a time (for FailureSummary.add_lines)."""
        for page in self.event_pages():
            yield [message for _, message in page]

    def event_pages(self) -> Iterator[list[tuple[int, str]]]:
        kwargs: dict[str, Any] = {
            "logGroupName": self.group,
            "startTime": _ms(self.window.start),
            # FilterLogEvents' endTime is inclusive; our windows are [start, end).
            "endTime": _ms(self.window.end) - 1,
        }
        while True:
            try:
                page = self.client.filter_log_events(**kwargs)
            except ClientError as error:
                raise _translate(error, self.group) from None
            self.pages_read += 1
            events = [(e.get("timestamp", 0), e.get("message", "")) for e in page.get("events", [])]
            room = self.cap - self.events
            if len(events) > room:
                self.truncated = True
                events = events[:room]
            self.events += len(events)
            if events:
                yield events
            # A page can be empty while nextToken is still given: only its absence ends the scan.
            token = page.get("nextToken")
            if self.truncated or not token:
                return
            kwargs["nextToken"] = token


def _translate(error: ClientError, group: str) -> AwsError:
    code = error.response.get("Error", {}).get("Code", "")
    if code == "ResourceNotFoundException":
        return LogGroupMissing(f"The log group `{group}` does not exist.")
    if code in ACCESS_DENIED_CODES:
        return AccessDenied(f"The bot may not call logs:FilterLogEvents on `{group}`.")
    return AwsError(f"CloudWatch Logs answered {code or 'an error'} for FilterLogEvents.")
