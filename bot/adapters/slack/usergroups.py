"""Members of Slack user groups (for admins and owners named by group), cached for a while."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.ops.cache import TtlCache

CACHE_SECONDS = 300
log = logging.getLogger(__name__)


class UserGroups:
    def __init__(self, client: WebClient, ttl: float = CACHE_SECONDS) -> None:
        self.client = client
        self._cache: TtlCache[frozenset[str]] = TtlCache(ttl)

    def members(self, group_id: str) -> frozenset[str]:
        return self._cache.get(group_id, lambda: self._fetch(group_id))

    def _fetch(self, group_id: str) -> frozenset[str]:
        try:
            response = self.client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as error:
            # Fail closed: a group we cannot read grants nothing (until the cache time passes).
            log.warning("cannot read user group %s: %s", group_id, error.response.get("error"))
            return frozenset()
        users: list[str] = response.get("users") or []
        return frozenset(users)

    def groups_of(self, user: str, candidates: Iterable[str]) -> frozenset[str]:
        return frozenset(g for g in candidates if user in self.members(g))
