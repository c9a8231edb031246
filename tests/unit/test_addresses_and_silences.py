"""Which silences cover which watch: silences hold addresses, stored as their canonical texts."""

from __future__ import annotations

from bot.domain.address import parse_address

PLACE = "123456789012/us-east-1/prod-db"
OTHER_PLACE = "111111111111/us-east-1/prod-db"
SHORT = parse_address("prod-db")


def test_a_short_name_silences_that_name_in_every_place() -> None:
    assert parse_address("prod-db").named_in({SHORT})
    assert parse_address(PLACE).named_in({SHORT})
    assert parse_address(OTHER_PLACE).named_in({SHORT})
    assert not parse_address("orders-db").named_in({SHORT})


def test_an_address_silences_that_place_only() -> None:
    assert parse_address(PLACE).named_in({parse_address(PLACE)})
    assert parse_address(" 123456789012/US-EAST-1/Prod-DB ".lower()).named_in(
        {parse_address(PLACE)}
    )
    assert not parse_address(OTHER_PLACE).named_in({parse_address(PLACE)})
    assert not parse_address("prod-db").named_in(
        {parse_address(PLACE)}
    )  # documented: say `prod-db` for that


def test_the_canonical_text_reads_back_as_the_same_address() -> None:
    for text in ("prod-db", PLACE):
        address = parse_address(text)
        assert str(address) == text
        assert parse_address(str(address)) == address
    assert parse_address(PLACE).by_short_name == SHORT
