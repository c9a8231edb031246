"""The Block Kit samples the README shows (docs/blockkit/*.json), drawn by the real views from a
fixed demo: cluster `prod-db` firing InvalidToken and InsufficientPermissions, acknowledged by
U0ALICE001, then resolved. tests/unit/test_blockkit_samples.py checks the committed files are
what this draws; after a change to a view, write them again with

    python -m tests.blockkit_samples

Each file is what Slack's Block Kit Builder takes: `{"blocks": [...]}` for a message, the Home
view as `{"type": "home", "blocks": [...]}`, a modal's view object as views.open gets it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.domain.address import Address
from bot.domain.alerts import Notice, NoticeKind, Threshold
from bot.domain.records import AuthFailure, Family
from bot.domain.summary import FailureSummary
from bot.services.alerting.group import ClusterNotices
from bot.services.home import FamilyFailures, HomeData, HomeRow, HomeState
from bot.views.digest import digest_payload, message_payload, part_of
from bot.views.home import home_view
from bot.views.modals import watch_modal

DOCS = Path(__file__).resolve().parent.parent / "docs" / "blockkit"
PROD = Address("prod-db")
ALERTS_CHANNEL = "C0ALERTS01"
HOME_CHANNEL = "D0ALICE001"  # Alice's conversation with the app, where the Home tab is read
ALICE = "U0ALICE001"
REFUSED_ROLE = "arn:aws:sts::123456789012:assumed-role/reporting-job-role/batch-7"

STARTED = datetime(2026, 11, 30, 9, 35, tzinfo=UTC)  # the episode's first breaching window
FIRST_TICK = datetime(2026, 11, 30, 9, 40, tzinfo=UTC)  # metrics up to here: the first post
ACKNOWLEDGED = datetime(2026, 11, 30, 9, 43, tzinfo=UTC)
REFRESHED = FIRST_TICK + timedelta(minutes=5)  # counts moved: the message edited in place
RESOLVED = datetime(2026, 11, 30, 10, 20, tzinfo=UTC)

INVALID_TOKEN = Threshold(Family.INVALID_TOKEN, 5, timedelta(minutes=5))
INSUFFICIENT = Threshold(Family.INSUFFICIENT_PERMISSIONS, 1, timedelta(minutes=15))


def _burst() -> FailureSummary:
    """The log of the breaching window: expired tokens of one service, a refused batch role."""
    summary = FailureSummary()
    rows = (
        [("checkout_svc", "ExpiredToken", None)] * 31
        + [("app_user", "InvalidToken", None)] * 11
        + [("reporting", "NotAuthorized", REFUSED_ROLE)] * 6
    )
    for i, (user, code, caller) in enumerate(rows):
        at = STARTED + timedelta(seconds=5 * i)
        summary.add(AuthFailure(at, "ERROR", user, "sample", 400, code, caller))
    return summary


def first_notices() -> ClusterNotices:
    notices = (
        Notice(NoticeKind.FIRING, Family.INVALID_TOKEN, 42, INVALID_TOKEN, STARTED, FIRST_TICK),
        Notice(NoticeKind.FIRING, Family.INSUFFICIENT_PERMISSIONS, 6, INSUFFICIENT, STARTED,
               FIRST_TICK),
    )  # fmt: skip
    workloads = (("ECS service checkout (cluster prod)", 31), ("Lambda reporting-nightly", 6))
    return ClusterNotices(PROD, notices, _burst(), True, "09:35–09:40 UTC", workloads)


def _refreshed_notices() -> ClusterNotices:
    """A refresh of the counts (no news, no log read), as in_place.py makes it."""
    notices = (
        Notice(NoticeKind.FIRING, Family.INVALID_TOKEN, 57, INVALID_TOKEN, STARTED, REFRESHED),
        Notice(NoticeKind.FIRING, Family.INSUFFICIENT_PERMISSIONS, 9, INSUFFICIENT, STARTED,
               REFRESHED),
    )  # fmt: skip
    return ClusterNotices(PROD, notices)


def _resolved_notices() -> ClusterNotices:
    notices = (
        Notice(NoticeKind.RESOLVED, Family.INVALID_TOKEN, 1, INVALID_TOKEN, STARTED, RESOLVED),
        Notice(NoticeKind.RESOLVED, Family.INSUFFICIENT_PERMISSIONS, 0, INSUFFICIENT, STARTED,
               RESOLVED),
    )  # fmt: skip
    return ClusterNotices(PROD, notices)


def first_post() -> dict[str, Any]:
    """The message as first posted (chat.postMessage), before anyone acknowledged it."""
    _, blocks = digest_payload([first_notices()], FIRST_TICK)
    return {"blocks": blocks}


def _firing_part() -> dict[str, Any]:
    first = part_of(first_notices())
    return part_of(_refreshed_notices(), first, (ALICE, ACKNOWLEDGED))


def alert_message_firing() -> dict[str, Any]:
    """The same message edited in place (chat.update) five minutes on: new counts, the log detail
    of the first post kept, and who acknowledged it."""
    _, blocks = message_payload([_firing_part()], REFRESHED)
    return {"blocks": blocks}


def alert_message_resolved() -> dict[str, Any]:
    """The message's last edit: every family resolved, no buttons."""
    part = part_of(_resolved_notices(), _firing_part(), None)  # a resolved episode has no ack
    _, blocks = message_payload([part], RESOLVED)
    return {"blocks": blocks}


def _spark(*tail: float) -> tuple[float, ...]:
    """24 hourly buckets, oldest first: quiet, then `tail` as the latest hours."""
    return (0.0,) * (24 - len(tail)) + tail


def home_tab() -> dict[str, Any]:
    """Alice's Home tab while prod-db fires: one cluster firing, one silenced, two ok."""
    rows = [
        HomeRow(
            PROD,
            (ALERTS_CHANNEL,),
            HomeState.FIRING,
            (Family.INVALID_TOKEN, Family.INSUFFICIENT_PERMISSIONS),
            STARTED,
            None,
            ALICE,
            (
                FamilyFailures(Family.INVALID_TOKEN, 71, _spark(2, 0, 0, 0, 0, 0, 12, 57)),
                FamilyFailures(Family.INSUFFICIENT_PERMISSIONS, 9, _spark(9)),
            ),
        ),
        HomeRow(
            Address("orders-db"),
            (ALERTS_CHANNEL,),
            HomeState.SILENCED,
            (),
            datetime(2026, 11, 29, 22, 10, tzinfo=UTC),
            datetime(2026, 11, 30, 11, 0, tzinfo=UTC),
            None,
            (FamilyFailures(Family.INVALID_TOKEN, 14, _spark(9, 3, 0, 0, 0, 0, 0, 0, 2, 0)),),
        ),
        HomeRow(
            Address("reports-db"),
            ("C0DATA0001",),
            HomeState.OK,
            (),
            None,
            None,
            None,
            (FamilyFailures(Family.INVALID_TOKEN, 0, _spark()),),
        ),
        HomeRow(
            Address("billing-db", "123456789012", "eu-west-1"),
            (ALERTS_CHANNEL,),
            HomeState.OK,
            (),
            datetime(2026, 11, 27, 14, 5, tzinfo=UTC),
            None,
            None,
            (FamilyFailures(Family.THROTTLING, 3, _spark(1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0)),),
        ),
    ]
    view = home_view(HomeData(rows, 0, [], REFRESHED), HOME_CHANNEL)
    # What the Block Kit Builder takes: the view's private_metadata is the app's own business.
    return {"type": view["type"], "blocks": view["blocks"]}


SAMPLES: dict[str, Callable[[], dict[str, Any]]] = {
    "home_tab.json": home_tab,
    "watch_modal.json": lambda: watch_modal(ALERTS_CHANNEL),
    "alert_message_firing.json": alert_message_firing,
    "alert_message_resolved.json": alert_message_resolved,
}


def render(sample: dict[str, Any]) -> str:
    """A file's text: stable, readable, emoji and sparklines kept as they are."""
    return json.dumps(sample, indent=2, ensure_ascii=False) + "\n"


def rendered() -> dict[str, str]:
    return {name: render(draw()) for name, draw in SAMPLES.items()}


def main() -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    for name, text in rendered().items():
        (DOCS / name).write_text(text, encoding="utf-8")
        print(DOCS / name)


if __name__ == "__main__":
    main()
