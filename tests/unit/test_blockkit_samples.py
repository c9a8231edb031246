"""The Block Kit samples in docs/blockkit/ are what the views draw today, in the shape Slack's Block
Kit Builder takes, and the README's excerpts of them are copied from them: neither can drift from
the code. After a change to a view: `python -m tests.blockkit_samples`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.views.acknowledged import ACK_MARK
from bot.views.blocks import MAX_BLOCKS
from bot.views.digest import ACKNOWLEDGE_ACTION, message_payload, part_of
from bot.views.home import MAX_HOME_BLOCKS
from tests import blockkit_samples as samples

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## What it looks like in Slack"
REGENERATE = "docs/blockkit is stale: run `python -m tests.blockkit_samples` and commit the files"


def committed(name: str) -> dict[str, Any]:
    data = json.loads((samples.DOCS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("name", sorted(samples.SAMPLES))
def test_the_committed_sample_is_what_the_view_draws(name: str) -> None:
    text = (samples.DOCS / name).read_text(encoding="utf-8")
    assert text == samples.rendered()[name], REGENERATE


def test_the_docs_hold_no_sample_the_generator_does_not_draw() -> None:
    assert {p.name for p in samples.DOCS.glob("*.json")} == set(samples.SAMPLES)


def blocks_are_valid(blocks: list[dict[str, Any]]) -> None:
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()  # SlackObjectFormationError past a limit
        assert parsed.to_dict() == block  # nothing slack_sdk does not know (and would drop)


@pytest.mark.parametrize("name", ["alert_message_firing.json", "alert_message_resolved.json"])
def test_a_message_sample_is_a_block_kit_message(name: str) -> None:
    data = committed(name)
    assert list(data) == ["blocks"]
    assert 0 < len(data["blocks"]) <= MAX_BLOCKS
    blocks_are_valid(data["blocks"])


def test_the_home_tab_sample_is_a_home_view() -> None:
    data = committed("home_tab.json")
    assert list(data) == ["type", "blocks"]
    assert data["type"] == "home"
    assert 0 < len(data["blocks"]) <= MAX_HOME_BLOCKS
    View(**data).validate_json()
    blocks_are_valid(data["blocks"])


def test_the_watch_modal_sample_is_a_modal_view() -> None:
    data = committed("watch_modal.json")
    assert data["type"] == "modal"
    view = View(**data)
    view.validate_json()
    assert view.to_dict() == data


def test_the_firing_sample_is_the_first_post_edited_in_place() -> None:
    """The first post is the message drawn from its parts (so the edit shows what was posted,
    updated); the firing sample carries the acknowledgement and the buttons, the resolved none."""
    first = samples.first_post()["blocks"]
    _, drawn = message_payload([part_of(samples.first_notices())], samples.FIRST_TICK)
    assert first == drawn
    firing = json.dumps(samples.alert_message_firing())
    assert f"{ACK_MARK} <@{samples.ALICE}> at 09:43 UTC" in firing
    assert "*57* failures" in firing
    assert "*57* failures" not in json.dumps(first)
    assert ACKNOWLEDGE_ACTION in firing
    resolved = samples.alert_message_resolved()["blocks"]
    assert [b["type"] for b in resolved] == ["header", "section", "divider", "context"]


def readme_excerpts() -> list[tuple[str, dict[str, Any]]]:
    """(linked sample, excerpt) for each ```json fence of the README's section, the sample being
    the last docs/blockkit file linked before the fence."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n{SECTION}\n")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end >= 0 else len(text)]
    found = []
    for fence in re.finditer(r"```json\n(.*?)\n```", section, re.DOTALL):
        links = re.findall(r"\(docs/blockkit/([a-z_]+\.json)\)", section[: fence.start()])
        assert links, "a README excerpt before any link to its file"
        found.append((links[-1], json.loads(fence.group(1))))
    return found


def is_subsequence(part: list[Any], whole: list[Any]) -> bool:
    rest = iter(whole)
    return all(any(item == other for other in rest) for item in part)


def test_the_readme_excerpts_are_taken_from_the_samples() -> None:
    excerpts = readme_excerpts()
    assert {name for name, _ in excerpts} == set(samples.SAMPLES)
    for name, excerpt in excerpts:
        sample = committed(name)
        for key, value in excerpt.items():
            if key == "blocks":
                assert value, name
                assert is_subsequence(value, sample["blocks"]), f"{name}: blocks not in the file"
            else:
                assert sample.get(key) == value, f"{name}: {key}"


def test_the_readme_points_to_the_block_kit_builder() -> None:
    text = README.read_text(encoding="utf-8")
    assert "https://app.slack.com/block-kit-builder" in text.split(SECTION, 1)[1]
