"""How a person names a database: `prod-db`, or `account/region/prod-db` where that is ambiguous;
`cluster:prod-db` or `instance:prod-db` where an Aurora cluster and an RDS DB instance share the
name (RDS keeps the two in separate namespaces), also inside an address
(`123456789012/us-east-1/instance:prod-db`).

Watches, silences and the digest's buttons all hold an Address; what is stored or sent (database
rows, button values, the outbox) is its canonical text `str(address)`, parsed back once where it
comes in. A name without a kind reads and prints as it always did, so rows stored before kinds
existed parse unchanged. A silence of `prod-db` covers the database of that name wherever it is
(the one when there is one place; every `account/region/prod-db` when there are several), of
either kind; a silence of an address covers that place only, so it does not cover a watch that
names `prod-db` alone.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import get_args

from bot.domain.cluster import Kind
from bot.domain.identifiers import IdentifierError, validate_cluster_id
from bot.domain.text import shown

_ACCOUNT = re.compile(r"\A[0-9]{12}\Z")
REGION_PATTERN = re.compile(r"\A[a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-[0-9]{1,2}\Z")
KINDS: tuple[Kind, ...] = get_args(Kind)
_USAGE = "write `prod-db`, `instance:prod-db` or `123456789012/us-east-1/prod-db`."


@dataclass(frozen=True)
class Address:
    cluster: str  # the RDS identifier, of a cluster or of a DB instance
    account: str | None = None
    region: str | None = None
    # None: whichever RDS has by this name; set only where a person (or a stored row) said so.
    kind: Kind | None = None

    @property
    def name(self) -> str:
        """`prod-db`, or `instance:prod-db` when the kind was said."""
        return f"{self.kind}:{self.cluster}" if self.kind else self.cluster

    def __str__(self) -> str:
        return f"{self.account}/{self.region}/{self.name}" if self.account else self.name

    @property
    def by_short_name(self) -> Address:
        """The database of this name (and kind, if said) in every place: `prod-db` of
        `123456789012/us-east-1/prod-db`."""
        return Address(self.cluster, kind=self.kind)

    def named_in(self, names: Collection[Address]) -> bool:
        """Whether `names` (silences) name this database: as it is, or by its short name, which
        stands for the database of that name in every place; a name without a kind stands for
        either kind."""
        return self in names or self.by_short_name in names or Address(self.cluster) in names


def parse_address(text: str) -> Address:
    """`prod-db`, `instance:prod-db` or `123456789012/us-east-1/prod-db`, checked;
    IdentifierError otherwise."""
    if "/" not in text:
        return _named(text, text)
    parts = text.strip().split("/")
    if len(parts) != 3 or not _ACCOUNT.match(parts[0]) or not REGION_PATTERN.match(parts[1]):
        raise IdentifierError(f"`{shown(text, 80)}` is not a cluster address: {_USAGE}")
    named = _named(parts[2], text)
    return Address(named.cluster, parts[0], parts[1], named.kind)


def _named(name: str, text: str) -> Address:
    """`prod-db` or `kind:prod-db` (an RDS identifier never holds a colon)."""
    if ":" not in name:
        return Address(validate_cluster_id(name))
    prefix, _, identifier = name.strip().partition(":")
    kind = prefix.lower()
    for known in KINDS:
        if kind == known:
            return Address(validate_cluster_id(identifier), kind=known)
    raise IdentifierError(
        f"`{shown(text, 80)}` is not a cluster address: the kind before `:` is `cluster` or "
        f"`instance`; {_USAGE}"
    )
