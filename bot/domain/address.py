"""How a person names a cluster: `prod-db`, or `account/region/prod-db` where that is ambiguous."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Address:
    cluster: str
    account: str | None = None
    region: str | None = None

    def __str__(self) -> str:
        return f"{self.account}/{self.region}/{self.cluster}" if self.account else self.cluster
