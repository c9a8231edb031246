"""How a person names a cluster: `prod-db`, or `account/region/prod-db` where that is ambiguous.

Watches, silences and the digest's buttons all hold an Address; what is stored or sent (database
rows, button values, the outbox) is its canonical text `str(address)`, parsed back once where it
comes in. A silence of `prod-db` covers the cluster of that name wherever it is (the one
cluster when there is one place; every `account/region/prod-db` when there are several); a silence
of an address covers that place only, so it does not cover a watch that names `prod-db` alone.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from bot.domain.identifiers import IdentifierError, validate_cluster_id
from bot.domain.text import shown

_ACCOUNT = re.compile(r"\A[0-9]{12}\Z")
REGION_PATTERN = re.compile(r"\A[a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-[0-9]{1,2}\Z")


@dataclass(frozen=True)
class Address:
    cluster: str
    account: str | None = None
    region: str | None = None

    def __str__(self) -> str:
        return f"{self.account}/{self.region}/{self.cluster}" if self.account else self.cluster

    @property
    def by_short_name(self) -> Address:
        """The cluster of this name in every place: `prod-db` of `123456789012/us-east-1/prod-db`."""
        return Address(self.cluster)

    def named_in(self, names: Collection[Address]) -> bool:
        """Whether `names` (silences) name this cluster: as it is, or by its short name, which
        stands for the cluster of that name in every place."""
        return self in names or self.by_short_name in names


def parse_address(text: str) -> Address:
    """`prod-db` or `123456789012/us-east-1/prod-db`, checked; IdentifierError otherwise."""
    if "/" not in text:
        return Address(validate_cluster_id(text))
    parts = text.strip().split("/")
    if len(parts) != 3 or not _ACCOUNT.match(parts[0]) or not REGION_PATTERN.match(parts[1]):
        raise IdentifierError(
            f"`{shown(text, 80)}` is not a cluster address: write `prod-db` or "
            "`123456789012/us-east-1/prod-db`."
        )
    return Address(validate_cluster_id(parts[2]), parts[0], parts[1])
