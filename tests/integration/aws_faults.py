"""moto behind a local HTTP proxy that holds or refuses the requests a test picks: one slow or one
refusing corner of AWS, the rest answering. Clients reach it as AWS, through their endpoint URL."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from benchmarks.aws_proxy import Answer, ForwardingProxy, _api_name

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/")
# STS (the query protocol) refusing AssumeRole: the role's trust policy does not name the bot.
_ASSUME_ROLE_DENIED = (
    b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
    b"<Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole"
    b"</Message></Error><RequestId>4b1b5a2e-0000-4000-8000-000000000000</RequestId>"
    b"</ErrorResponse>"
)


@dataclass(frozen=True)
class Call:
    api: str  # GetMetricData, FilterLogEvents, AssumeRole…
    region: str  # from the request's signature
    body: bytes


class FaultyAws(ForwardingProxy):
    timeout = 60.0

    def __init__(self, upstream: str) -> None:
        self.hold: Callable[[Call], bool] = lambda _: False  # no answer until release()
        self.deny_assume_role: Callable[[Call], bool] = lambda _: False
        self.held: list[Call] = []
        self._released = threading.Event()
        super().__init__(upstream)

    def release(self) -> None:
        self._released.set()

    def stop(self) -> None:
        self.release()
        super().stop()

    def answer(self, method: str, path: str, headers: Any, body: bytes) -> Answer:
        scope = _SCOPE.search(headers.get("Authorization", ""))
        call = Call(_api_name(path, headers, body), scope[1] if scope else "", body)
        if self.hold(call):
            self.held.append(call)
            self._released.wait()
        if call.api == "AssumeRole" and self.deny_assume_role(call):
            return 403, _ASSUME_ROLE_DENIED, {"Content-Type": "text/xml"}
        return self.forward(method, path, headers, body)


def faulty_aws(upstream: str) -> Iterator[FaultyAws]:
    proxy = FaultyAws(upstream)
    try:
        yield proxy
    finally:
        proxy.stop()
