"""A local stand-in for the Slack Web API and for `response_url`, recording what it is sent.

Used by the tests and by `iamauth demo`, so both drive the real Bolt app and the real slack_sdk
clients over real HTTP without a Slack workspace. Web API methods answer at `/api/<method>`;
`response_url`s are `/response/<id>`.

Faults on cue, for the delivery tests: `fail` (HTTP 500 for the next N calls or until `heal`),
`accept_then_drop` / `accept_then_fail` (the post is made, then its answer is lost),
`rate_limit` (429 with Retry-After for one channel), `slow` (each call of a method takes longer).
Each names the method it hits (`chat.update` too). `chat.update` edits a message posted here and
answers `message_not_found` for any other ts (one a person deleted: `delete_message`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_USER_ID = "U0BOT00001"
Answer = tuple[int, dict[str, Any], dict[str, str]]  # status, JSON body, extra headers
TEAM_ID = "T0TEAM0001"


@dataclass
class Recorded:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    status: int = 0
    data: bytes = b""  # the raw body (a file's bytes, for an upload URL)

    @property
    def method(self) -> str:
        return self.path.removeprefix("/api/")


@dataclass
class Fault:
    """How the calls that match (`method`, `channel`: any when None) fail, for the next `calls`
    of them (None: until healed)."""

    status: int = 500
    error: str = "internal_error"
    headers: dict[str, str] = field(default_factory=dict)
    method: str | None = None
    channel: str | None = None
    calls: int | None = None
    accept: bool = False  # the call takes effect (a post is in the channel) before failing
    drop: bool = False  # no answer at all: the connection is closed
    hang: float = 0.0  # seconds the answer is held back (a caller killed meanwhile never gets it)

    def matches(self, recorded: Recorded) -> bool:
        return (
            self.calls != 0
            and recorded.path.startswith("/api/")
            and self.method in (None, recorded.method)
            and self.channel in (None, recorded.body.get("channel"))
        )


@dataclass
class UploadedFile:
    """A file shared with files.completeUploadExternal (files_upload_v2's last step)."""

    id: str
    filename: str
    length: int
    alt_txt: str = ""
    data: bytes = b""
    title: str = ""
    channel: str = ""
    thread_ts: str | None = None
    initial_comment: str | None = None


class SlackStandIn:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        # User group id → member ids, for usergroups.users.list.
        self.usergroups: dict[str, set[str]] = {}
        # Messages posted with chat.postMessage, per channel, as conversations.history returns them.
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self._changed = threading.Condition()
        # Web API method → canned reply; tests may override (e.g. to answer 429 first).
        self.replies: dict[str, Callable[[Recorded], Answer | None]] = {}
        # Files shared in channels, in order; uploads begun but not completed wait in _uploads.
        self.files: list[UploadedFile] = []
        self._uploads: dict[str, UploadedFile] = {}
        self._faults: list[Fault] = []
        self._delays: dict[str, float] = {}  # Web API method → seconds each call takes
        self._edits: list[Recorded] = []  # chat.update calls that edited a message
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length)
                text = data.decode("utf-8", "replace")
                # An upload URL gets a file's bytes (raw or multipart), not a form or JSON.
                is_file = self.path.startswith("/upload/")
                decoded = {} if is_file else _decode(text, self.headers.get("Content-Type", ""))
                recorded = Recorded(self.path, decoded, dict(self.headers), data=data)
                time.sleep(stand_in._delays.get(recorded.method, 0.0))
                fault = stand_in._fault_for(recorded)
                if fault is None or fault.accept:
                    status, payload, headers = stand_in._answer(recorded)
                if fault is not None:
                    status = 0 if fault.drop else fault.status
                    payload, headers = {"ok": False, "error": fault.error}, dict(fault.headers)
                recorded.status = status
                # Recorded before answering: once a client has its answer, tests can see the request.
                with stand_in._changed:
                    stand_in.requests.append(recorded)
                    stand_in._changed.notify_all()
                if fault is not None and fault.hang:
                    time.sleep(fault.hang)
                if fault is not None and fault.drop:
                    self.close_connection = True
                    return
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str = "cmd") -> str:
        return f"{self.url}/response/{name}"

    def start(self) -> SlackStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Faults on cue ---------------------------------------------------------------------------
    def fail(
        self,
        *,
        status: int = 500,
        error: str = "internal_error",
        calls: int | None = None,
        method: str | None = None,
        channel: str | None = None,
        headers: dict[str, str] | None = None,
        drop: bool = False,
    ) -> Fault:
        """Matching calls answer `status` (or nothing at all, `drop`) without doing anything: the
        next `calls`, or all of them until `heal()`."""
        return self._inject(Fault(status, error, headers or {}, method, channel, calls, drop=drop))

    def accept_then_drop(self, calls: int = 1, method: str = "chat.postMessage") -> Fault:
        """The call is made (a post shows in the channel), then the connection closes unanswered."""
        return self._inject(Fault(method=method, calls=calls, accept=True, drop=True))

    def accept_then_hang(
        self, seconds: float, calls: int = 1, method: str = "chat.postMessage"
    ) -> Fault:
        """The call is made (a post shows in the channel), then its answer is held for `seconds`
        and never comes (the connection closes): a caller can be killed in between."""
        return self._inject(Fault(method=method, calls=calls, accept=True, drop=True, hang=seconds))

    def accept_then_fail(
        self, status: int = 500, calls: int = 1, method: str = "chat.postMessage"
    ) -> Fault:
        """The call is made (a post shows in the channel), then answered `status`."""
        return self._inject(Fault(status, method=method, calls=calls, accept=True))

    def rate_limit(self, channel: str, retry_after: int, calls: int | None = None) -> Fault:
        """Posts to `channel` answer 429 with Retry-After; other channels are served."""
        headers = {"Retry-After": str(retry_after)}
        return self.fail(
            status=429, error="ratelimited", calls=calls, method="chat.postMessage",
            channel=channel, headers=headers,
        )  # fmt: skip

    def slow(self, seconds: float, method: str = "chat.postMessage") -> None:
        """Each call of `method` takes `seconds` before it is handled."""
        self._delays[method] = seconds

    def heal(self) -> None:
        """Every fault and delay ends."""
        with self._changed:
            self._faults.clear()
            self._delays.clear()

    def _inject(self, fault: Fault) -> Fault:
        with self._changed:
            self._faults.append(fault)
        return fault

    def _fault_for(self, recorded: Recorded) -> Fault | None:
        with self._changed:
            for fault in self._faults:
                if fault.matches(recorded):
                    if fault.calls is not None:
                        fault.calls -= 1
                    return fault
        return None

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        """What the channel shows: every message posted to it, however its answer went."""
        with self._changed:
            return [dict(m) for m in self.messages.get(channel, [])]

    def _answer(self, recorded: Recorded) -> Answer:
        custom = self.replies.get(recorded.method)
        answer = custom(recorded) if custom is not None else None
        if answer is not None:
            return answer
        if recorded.path.startswith("/response/"):
            return 200, {"ok": True}, {}
        if recorded.path.startswith("/upload/"):
            return self._receive_upload(recorded)
        if recorded.method == "files.getUploadURLExternal":
            return 200, self._upload_url(recorded.body), {}
        if recorded.method == "files.completeUploadExternal":
            return 200, self._complete_upload(recorded.body), {}
        if recorded.method == "auth.test":
            return (
                200,
                {"ok": True, "user_id": BOT_USER_ID, "team_id": TEAM_ID, "bot_id": "B0BOT00001"},
                {},
            )
        if recorded.method == "chat.postMessage":
            return 200, self._post(recorded.body), {}
        if recorded.method == "chat.update":
            return 200, self._update(recorded), {}
        if recorded.method == "usergroups.users.list":
            group = str(recorded.body.get("usergroup", ""))
            if group not in self.usergroups:
                return 200, {"ok": False, "error": "no_such_subteam"}, {}
            return 200, {"ok": True, "users": sorted(self.usergroups[group])}, {}
        if recorded.method == "conversations.history":
            return 200, self._history(recorded.body), {}
        if recorded.method == "conversations.replies":
            return 200, self._history(recorded.body, str(recorded.body.get("ts") or "")), {}
        if recorded.method == "views.open":  # a modal: Slack needs the request's trigger_id
            view = recorded.body.get("view")
            view = json.loads(view) if isinstance(view, str) else view
            if not recorded.body.get("trigger_id"):
                return 200, {"ok": False, "error": "invalid_trigger_id"}, {}
            return 200, {"ok": True, "view": {"id": "V0MODAL001", **(view or {})}}, {}
        if recorded.method == "views.publish":  # a Home tab: the view as published
            view = recorded.body.get("view")
            view = json.loads(view) if isinstance(view, str) else view
            return 200, {"ok": True, "view": {"id": "V0HOME0001", **(view or {})}}, {}
        return 200, {"ok": True}, {}

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel", ""))
        with self._changed:
            history = self.messages.setdefault(channel, [])
            ts = f"{time.time():.6f}"
            if history and float(history[-1]["ts"]) >= float(ts):
                ts = f"{float(history[-1]['ts']) + 0.000001:.6f}"
            message = {
                "type": "message",
                "ts": ts,
                "text": body.get("text", ""),
                "bot_id": "B0BOT00001",
            }
            metadata = body.get("metadata")
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            if metadata:
                message["metadata"] = metadata
            blocks = body.get("blocks")
            if blocks is not None:
                message["blocks"] = json.loads(blocks) if isinstance(blocks, str) else blocks
            thread = str(body.get("thread_ts") or "")
            if thread:  # a reply: its parent must be there (Slack: thread_not_found)
                if not any(m["ts"] == thread for m in history):
                    return {"ok": False, "error": "thread_not_found"}
                message["thread_ts"] = thread
            history.append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _update(self, recorded: Recorded) -> dict[str, Any]:
        body = recorded.body
        channel, ts = str(body.get("channel", "")), str(body.get("ts", ""))
        with self._changed:
            found = [m for m in self.messages.get(channel, []) if m["ts"] == ts]
            if not found:
                return {"ok": False, "error": "message_not_found"}
            message = found[0]
            message["text"] = body.get("text", message["text"])
            blocks = body.get("blocks")
            if blocks is not None:
                message["blocks"] = json.loads(blocks) if isinstance(blocks, str) else blocks
            message["edited"] = {"user": BOT_USER_ID, "ts": f"{time.time():.6f}"}
            self._edits.append(recorded)
            return {"ok": True, "channel": channel, "ts": ts, "text": message["text"]}

    def delete_message(self, channel: str, ts: str) -> bool:
        """A person deletes a message: it leaves the channel (chat.update finds it no more)."""
        with self._changed:
            history = self.messages.get(channel, [])
            kept = [m for m in history if m["ts"] != ts]
            self.messages[channel] = kept
            return len(kept) < len(history)

    def updated(self, channel: str | None = None) -> list[Recorded]:
        """chat.update requests that edited a message (however their answer went), in order."""
        with self._changed:
            return [r for r in self._edits if channel is None or r.body.get("channel") == channel]

    def _history(self, body: dict[str, Any], thread: str | None = None) -> dict[str, Any]:
        """conversations.history (the channel, without thread replies), or with `thread`
        conversations.replies (that thread: its parent and replies)."""
        oldest = float(body.get("oldest") or 0)
        with self._changed:
            channel = self.messages.get(str(body.get("channel", "")), [])
            if thread and not any(m["ts"] == thread for m in channel):
                return {"ok": False, "error": "thread_not_found"}
            found = [
                dict(m)
                for m in channel
                if float(m["ts"]) > oldest
                and (
                    thread in (m["ts"], m.get("thread_ts"))
                    if thread
                    else m.get("thread_ts", m["ts"]) == m["ts"]
                )
            ]
        if str(body.get("include_all_metadata", "")).lower() not in {"1", "true"}:
            for message in found:
                message.pop("metadata", None)
        limit = int(body.get("limit") or 100)
        return {"ok": True, "messages": list(reversed(found))[:limit], "has_more": False}

    def _upload_url(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._changed:
            file_id = f"F{len(self._uploads) + 1:09d}"
            self._uploads[file_id] = UploadedFile(
                file_id,
                str(body.get("filename", "")),
                int(body.get("length") or 0),
                str(body.get("alt_txt", "")),
            )
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}/upload/{file_id}"}

    def _receive_upload(self, recorded: Recorded) -> Answer:
        with self._changed:
            upload = self._uploads.get(recorded.path.removeprefix("/upload/"))
            if upload is None:
                return 404, {"ok": False, "error": "unknown upload"}, {}
            upload.data = _file_bytes(recorded.data, recorded.headers.get("Content-Type", ""))
        return 200, {"ok": True}, {}

    def _complete_upload(self, body: dict[str, Any]) -> dict[str, Any]:
        shared = []
        with self._changed:
            for item in json.loads(str(body.get("files", "[]"))):
                upload = self._uploads.get(str(item.get("id")))
                if upload is None or not upload.data:
                    return {"ok": False, "error": "file_not_found"}
                upload.title = str(item.get("title") or upload.filename)
                upload.channel = str(body.get("channel_id", ""))
                upload.thread_ts = body.get("thread_ts") or None
                upload.initial_comment = body.get("initial_comment") or None
                self.files.append(upload)
                shared.append({"id": upload.id, "name": upload.filename, "title": upload.title})
        return {"ok": True, "files": shared}

    def uploaded(self, channel: str | None = None) -> list[UploadedFile]:
        """Files shared with files_upload_v2, in order, optionally in one channel only."""
        with self._changed:
            return [f for f in self.files if channel is None or f.channel == channel]

    def posted(self, channel: str | None = None) -> list[Recorded]:
        """chat.postMessage requests that succeeded (answered 200)."""
        with self._changed:
            return [
                r
                for r in self.requests
                if r.method == "chat.postMessage"
                and r.status == 200
                and (channel is None or r.body.get("channel") == channel)
            ]

    def published(self, user: str | None = None) -> list[Recorded]:
        """views.publish requests that succeeded (Home tabs), optionally for one user only."""
        with self._changed:
            return [
                r
                for r in self.requests
                if r.method == "views.publish"
                and r.status == 200
                and (user is None or r.body.get("user_id") == user)
            ]

    def wait_for(self, predicate: Callable[[Recorded], bool], timeout: float = 15.0) -> Recorded:
        """The first recorded request matching `predicate`, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for recorded in self.requests:
                    if predicate(recorded):
                        return recorded
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the Slack stand-in received no matching request")
                self._changed.wait(remaining)

    def responses(self, name: str = "cmd") -> list[Recorded]:
        with self._changed:
            return [r for r in self.requests if r.path == f"/response/{name}"]


def _file_bytes(data: bytes, content_type: str) -> bytes:
    """The file in an upload body: the body itself, or the `file` part of a multipart form."""
    if not content_type.startswith("multipart/form-data"):
        return data
    form = BytesParser(policy=policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + data
    )
    for part in form.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else b""
    return b""


def _decode(raw: str, content_type: str) -> dict[str, Any]:
    if "json" in content_type:
        try:
            value = json.loads(raw or "{}")
        except json.JSONDecodeError:
            return {"_raw": raw}
        return value if isinstance(value, dict) else {"_raw": value}
    return {k: v[0] if len(v) == 1 else v for k, v in parse_qs(raw).items()}
