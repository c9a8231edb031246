from __future__ import annotations

import pytest

from bot.domain.identifiers import IdentifierError, validate_cluster_id


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
