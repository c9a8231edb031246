from __future__ import annotations

import pytest

from bot.domain.address import parse_address
from bot.domain.identifiers import IdentifierError, validate_cluster_id
from bot.domain.watches import WatchError, parse_threshold_spec


@pytest.mark.parametrize(
    ("text", "expected"),
    [("prod-db", "prod-db"), ("Prod-DB-2", "prod-db-2"), ("a", "a"), ("a" * 63, "a" * 63)],
)
def test_valid_identifiers_come_back_lowercase(text: str, expected: str) -> None:
    assert validate_cluster_id(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1db",
        "prod--db",
        "prod-db-",
        "prod_db",
        "a" * 64,
        "prod db",
        "<!channel>",
        "prod-db;rm",
        "*",
    ],
)
def test_invalid_identifiers_are_refused_before_any_aws_call(text: str) -> None:
    with pytest.raises(IdentifierError, match="not an RDS cluster identifier"):
        validate_cluster_id(text)


@pytest.mark.parametrize(
    "text",
    ["１２３４５６７８９０１２/us-east-1/prod-db", "123456789012/us-east-١/prod-db"],
)
def test_addresses_take_ascii_digits_only(text: str) -> None:
    # Other scripts' digits would pass \d and name an account AWS has never heard of.
    with pytest.raises(IdentifierError):
        parse_address(text)


@pytest.mark.parametrize("spec", ["invalid_token>=５/5m", "invalid_token>=²/5m"])
def test_thresholds_take_ascii_digits_only(spec: str) -> None:
    with pytest.raises(WatchError):
        parse_threshold_spec(spec)
