"""The modals are Block Kit slack_sdk's models accept whole: every field known, within limits."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.domain.address import Address
from bot.services.clusters import ClusterChoice
from bot.views.modals import cluster_options, silence_modal, watch_modal


@pytest.mark.parametrize(
    "modal", [watch_modal("C0DEMO0001"), watch_modal(""), silence_modal("C0DEMO0001")]
)
def test_modals_are_valid_block_kit(modal: dict[str, Any]) -> None:
    view = View(**modal)
    view.validate_json()  # SlackObjectFormationError past a limit
    assert view.to_dict() == modal  # nothing the model does not know (and would drop)


def test_cluster_options_name_the_place_only_where_there_are_several() -> None:
    choices = [
        ClusterChoice(Address("prod-db"), "111111111111/us-east-1"),
        ClusterChoice(Address("x", "111111111111", "us-west-2"), "111111111111/us-west-2"),
    ]
    assert cluster_options(choices, show_place=False)[0] == {
        "text": {"type": "plain_text", "text": "prod-db"},
        "value": "prod-db",
    }
    labels = [o["text"]["text"] for o in cluster_options(choices, show_place=True)]
    assert labels == ["prod-db · 111111111111/us-east-1", "111111111111/us-west-2/x"]
    assert len(cluster_options(choices * 60, show_place=False)) == 100  # Slack's most
