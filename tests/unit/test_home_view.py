"""The Home view: Slack's 100-block limit, escaping, the acknowledgement, the buttons' values."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.domain.address import Address
from bot.domain.records import Family
from bot.services.home import FamilyFailures, HomeData, HomeRow, HomeState
from bot.views.home import MAX_HOME_BLOCKS, home_view

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def row(name: str, state: HomeState = HomeState.OK, **fields: object) -> HomeRow:
    values: dict[str, object] = {
        "cluster": Address(name),
        "channels": ("C0OPS00001",),
        "state": state,
        "firing": (),
        "last_fired": None,
        "silenced_until": None,
        "acknowledged_by": None,
        "failures": (FamilyFailures(Family.INVALID_TOKEN, 0, (0.0,) * 24),),
    }
    values.update(fields)
    return HomeRow(**values)  # type: ignore[arg-type]


def texts(view: dict[str, object]) -> str:
    blocks = view["blocks"]
    assert isinstance(blocks, list)
    parts = []
    for block in blocks:
        for item in [block, *block.get("elements", [])]:
            text = item.get("text")
            parts.append(text["text"] if isinstance(text, dict) else str(text or ""))
    return "\n".join(parts)


def test_many_clusters_fit_the_home_views_100_blocks() -> None:
    rows = [row(f"db-{i:03d}") for i in range(150)]
    view = home_view(HomeData(rows, 0, [], NOW), "D0HOME0001")
    assert view["type"] == "home"
    assert len(view["blocks"]) <= MAX_HOME_BLOCKS
    text = texts(view)
    assert "…and 120 more: `/iamauth watches` lists them all." in text
    assert "*db-029*" in text
    assert "*db-030*" not in text
    assert json.loads(view["private_metadata"]) == {"channel": "D0HOME0001"}


def test_untrusted_text_is_escaped_and_the_acknowledgement_shown() -> None:
    rows = [
        row(
            "prod-db",
            HomeState.FIRING,
            firing=(Family.INVALID_TOKEN,),
            last_fired=NOW,
            acknowledged_by="U0ALICE01",
            failures=(FamilyFailures(Family.INVALID_TOKEN, 7, (0.0,) * 23 + (7.0,)),),
        ),
        row("odd-db", channels=("<!channel>",), acknowledged_by="<!here>", failures=None),
    ]
    problems = ["123456789012/eu-west-1: AccessDenied for <!everyone>"]
    text = texts(home_view(HomeData(rows, 2, problems, NOW), "D0HOME0001"))
    assert "acknowledged by <@U0ALICE01>" in text
    assert "last fired 2026-11-30 12:00 UTC" in text
    assert "Last 24 h: *7* failures · InvalidToken *7* `▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁█`" in text
    assert "failures of the last 24 h could not be read" in text
    assert "2 watched clusters that may not be read here are left out." in text
    for ping in ("<!channel>", "<!here>", "<!everyone>"):
        assert ping not in text
    assert "&lt;!here&gt;" in text
    assert "&lt;!everyone&gt;" in text


def test_no_cluster_to_show() -> None:
    text = texts(home_view(HomeData([], 0, [], NOW), "D0HOME0001"))
    assert "No watched cluster you may read here." in text
    assert "Watch a cluster…" in text
