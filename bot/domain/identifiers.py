"""RDS identifiers, checked before any AWS call so that user text never reaches an API unvalidated."""

from __future__ import annotations

import re

from bot.domain.text import shown

# RDS rules, the same for clusters and DB instances: 1-63 letters, digits or hyphens; starts
# with a letter; no trailing hyphen and no "--".
_CLUSTER_ID = re.compile(r"\A[a-z](?:[a-z0-9]|-(?!-)){0,62}\Z")


class IdentifierError(ValueError):
    """Not a valid identifier; the message is meant for the person who typed it."""


def validate_cluster_id(text: str) -> str:
    """Return the identifier in the lowercase form RDS stores, or raise IdentifierError."""
    candidate = text.strip().lower()
    if not _CLUSTER_ID.match(candidate) or candidate.endswith("-"):
        raise IdentifierError(
            f"`{shown(text, 70)}` is not an RDS cluster identifier nor a DB instance identifier: "
            "1-63 letters, digits or hyphens, starting with a letter, with no `--` and no "
            "trailing hyphen."
        )
    return candidate
