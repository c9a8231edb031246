"""Which silences cover which watch: the names are the canonical address texts."""

from __future__ import annotations

from bot.domain.address import parse_address

PLACE = "123456789012/us-east-1/prod-db"
OTHER_PLACE = "111111111111/us-east-1/prod-db"


def test_a_short_name_silences_that_name_in_every_place() -> None:
    assert parse_address("prod-db").named_in({"prod-db"})
    assert parse_address(PLACE).named_in({"prod-db"})
    assert parse_address(OTHER_PLACE).named_in({"prod-db"})
    assert not parse_address("orders-db").named_in({"prod-db"})


def test_an_address_silences_that_place_only() -> None:
    assert parse_address(PLACE).named_in({PLACE})
    assert parse_address(" 123456789012/US-EAST-1/Prod-DB ".lower()).named_in({PLACE})
    assert not parse_address(OTHER_PLACE).named_in({PLACE})
    assert not parse_address("prod-db").named_in({PLACE})  # documented: say `prod-db` for that
