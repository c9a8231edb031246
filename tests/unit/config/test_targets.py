from __future__ import annotations

import pytest

from bot.adapters.aws.targets import TargetSpec
from bot.config.targets import read_targets
from tests.unit.config.files import config, refusal

ROLE = "arn:aws:iam::111111111111:role/iamauth-read"


def test_targets_with_their_defaults() -> None:
    targets = read_targets(
        config(
            "[[target]]",
            'regions = ["us-east-1"]',
            "[[target]]",
            'regions = ["eu-west-1", "eu-central-1"]',
            f'role_arn = "{ROLE}"',
            'external_id = "x-1"',
            'session_name = "bot"',
        )
    )
    assert targets == (
        TargetSpec("target1", ("us-east-1",)),
        TargetSpec("target2", ("eu-west-1", "eu-central-1"), ROLE, "x-1", "bot"),
    )
    assert targets[0].session_name == "iamauth"
    assert read_targets(config()) == ()


def test_a_name_taken_by_an_unnamed_target_is_found_after_naming_it() -> None:
    # The second target is named `target2` only by its place, which the first took.
    text = ("[[target]]", 'name = "target2"', 'regions = ["us-east-1"]', "", "[[target]]")
    assert refusal(read_targets, *text, 'regions = ["eu-west-1"]') == (
        "IAMAUTH_CONFIG line 5: each [[target]] needs its own name."
    )


REGIONS = 'regions must be a list of AWS regions, like ["us-east-1"].'


@pytest.mark.parametrize(
    ("lines", "line", "message"),
    [
        (("[[target]]", 'name = "a"'), 1, REGIONS),
        (("[[target]]", "regions = []"), 2, REGIONS),
        (("[[target]]", "regions = [", '  "us-east-1",', "  1,", "]"), 4, REGIONS),
        (("[[target]]", "regions = [", '  "us-east-1",', '  "moon-1",', "]"), 4, REGIONS),
        (
            ("[[target]]", 'regions = ["us-east-1"]', "role_arn = 7"),
            3,
            "role_arn must be an IAM role ARN.",
        ),
        (
            ("[[target]]", 'regions = ["us-east-1"]', "session_name = 7"),
            3,
            "[[target]] session_name must be a string.",
        ),
        (
            ("[[target]]", 'regions = ["us-east-1"]', 'regoins = ["x"]'),
            3,
            "unknown key `regoins` in [[target]].",
        ),
    ],
)
def test_each_mistake_at_its_line(lines: tuple[str, ...], line: int, message: str) -> None:
    assert refusal(read_targets, *lines) == f"IAMAUTH_CONFIG line {line}: {message}"
