"""Members of Slack user groups (for admins and owners named by group), cached for a while."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

CACHE_SECONDS = 300
log = logging.getLogger(__name__)


class UserGroups:
    def __init__(self, client: WebClient, ttl: float = CACHE_SECONDS) -> None:
        self.client = client
        self.ttl = ttl
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def members(self, group_id: str) -> frozenset[str]:
        with self._lock:
            cached = self._cache.get(group_id)
            if cached and time.monotonic() - cached[0] < self.ttl:
                return cached[1]
        try:
            response = self.client.usergroups_users_list(usergroup=group_id)
            users: list[str] = response.get("users") or []
            members = frozenset(users)
        except SlackApiError as error:
            # Fail closed: a group we cannot read grants nothing.
            log.warning("cannot read user group %s: %s", group_id, error.response.get("error"))
            members = frozenset()
        with self._lock:
            self._cache[group_id] = (time.monotonic(), members)
        return members

    def groups_of(self, user: str, candidates: Iterable[str]) -> frozenset[str]:
        return frozenset(g for g in candidates if user in self.members(g))
