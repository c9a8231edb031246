"""Uploading a PNG into a channel or a thread with `files_upload_v2`.

slack_sdk does the three steps of Slack's upload: files.getUploadURLExternal, a POST of the bytes to
the URL it returns, and files.completeUploadExternal, which shares the file in the channel. Any of
them can fail; callers get one sentence fit to show a person, never an exception from the SDK.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)

# Slack's error codes, as the reason a chart is missing (completed: "Chart not posted: …").
_REASONS = {
    "not_in_channel": "the bot is not in this channel (invite it with `/invite @iamauth`)",
    "channel_not_found": "the bot cannot see this channel (invite it, or ask in a channel it is in)",
    "invalid_channel": "the bot cannot see this channel (invite it, or ask in a channel it is in)",
    "is_archived": "this channel is archived",
    "missing_scope": "the Slack app lacks the `files:write` scope (reinstall it from manifest.yml)",
    "restricted_action": "this workspace does not let the bot share files here",
    "ratelimited": "Slack is rate limiting uploads; try again in a minute",
}


class UploadError(Exception):
    """The upload failed; the message says why, in words for the person who asked."""

    def __init__(self, reason: str, code: str = "") -> None:
        super().__init__(reason)
        self.code = code


@dataclass(frozen=True)
class Png:
    data: bytes
    filename: str
    title: str
    alt_text: str = ""


def upload_png(
    client: WebClient,
    png: Png,
    channel: str,
    *,
    thread_ts: str | None = None,
    initial_comment: str | None = None,
) -> str:
    """Share `png` in `channel` (in the thread of `thread_ts` if given); returns the file id."""
    try:
        response = client.files_upload_v2(
            file=png.data,
            filename=png.filename,
            title=png.title,
            alt_txt=png.alt_text or None,
            channel=channel,
            thread_ts=thread_ts,
            initial_comment=initial_comment,
        )
    except SlackApiError as error:
        code = str(error.response.get("error") or "error")
        log.warning("uploading %s to %s failed: %s", png.filename, channel, code)
        raise UploadError(_REASONS.get(code, f"Slack answered `{code}`"), code) from None
    except (SlackClientError, OSError) as error:
        # The POST of the bytes to the upload URL (urllib raises HTTPError), or the network.
        log.warning("uploading %s to %s failed: %s", png.filename, channel, error)
        raise UploadError("the upload to Slack failed; try again later") from None
    file = response.get("file") or {}
    return str(file.get("id", "")) if isinstance(file, dict) else ""
