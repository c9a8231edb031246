"""Addresses that say the kind (`instance:prod-db`, `123456789012/us-east-1/cluster:prod-db`):
their canonical text reads back as the same address, and texts stored before kinds existed read
as they always did."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.address import Address, parse_address
from bot.domain.cluster import CLUSTER, INSTANCE
from bot.domain.identifiers import IdentifierError
from bot.services.cluster_identity import ClusterIdentity

identifiers = st.from_regex(r"\A[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,40}\Z")
places = st.one_of(
    st.just((None, None)),
    st.tuples(
        st.from_regex(r"\A[0-9]{12}\Z"), st.sampled_from(["us-east-1", "eu-west-1", "ap-south-2"])
    ),
)
kinds = st.sampled_from([None, CLUSTER, INSTANCE])


@given(identifiers, places, kinds)
def test_every_address_reads_back_from_its_canonical_text(
    name: str, place: tuple[str | None, str | None], kind: str | None
) -> None:
    address = Address(name, place[0], place[1], kind)  # type: ignore[arg-type]
    text = str(address)
    assert parse_address(text) == address
    assert (":" in text) == (kind is not None)  # no kind said: today's text, unchanged


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("prod-db", Address("prod-db")),
        ("123456789012/us-east-1/prod-db", Address("prod-db", "123456789012", "us-east-1")),
        ("instance:prod-db", Address("prod-db", kind=INSTANCE)),
        ("Cluster:Prod-DB", Address("prod-db", kind=CLUSTER)),
        (
            "123456789012/us-east-1/instance:prod-db",
            Address("prod-db", "123456789012", "us-east-1", INSTANCE),
        ),
    ],
)
def test_texts_with_and_without_a_kind(text: str, expected: Address) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["db:prod-db", "instance:", ":prod-db", "instance:cluster:x"])
def test_a_kind_other_than_cluster_or_instance_is_refused(text: str) -> None:
    with pytest.raises(IdentifierError, match="not"):
        parse_address(text)


def test_silences_by_name_cover_either_kind_and_by_kind_only_that_kind() -> None:
    instance = parse_address("123456789012/us-east-1/instance:prod-db")
    assert instance.named_in({parse_address("prod-db")})  # a name said alone: either kind
    assert instance.named_in({parse_address("instance:prod-db")})
    assert not instance.named_in({parse_address("cluster:prod-db")})
    assert not parse_address("prod-db").named_in({parse_address("instance:prod-db")})
    assert instance.by_short_name == parse_address("instance:prod-db")


def test_without_targets_a_name_said_without_a_kind_is_the_one_said_with_it() -> None:
    identity = ClusterIdentity(None)
    assert identity.same(parse_address("prod-db"), parse_address("instance:prod-db"))
    assert identity.same(parse_address("cluster:prod-db"), parse_address("prod-db"))
    assert not identity.same(parse_address("cluster:prod-db"), parse_address("instance:prod-db"))
