"""`/iamauth audit [n]`: the newest entries of the audit log, for admins."""

from __future__ import annotations

import re

from bot.domain.access import Kind
from bot.views.audit_log import audit_list
from handlers.commands.args import UsageError
from handlers.context import CommandRequest, Deps, Prepared

DEFAULT_ENTRIES = 20
MAX_ENTRIES = 100
USAGE = f"Usage: `/iamauth audit [n]`, n from 1 to {MAX_ENTRIES}."
# ASCII digits only: str.isdigit() also takes "²" (which int() then refuses) and "５".
_COUNT = re.compile(r"[0-9]{1,3}")


def prepare(request: CommandRequest, deps: Deps) -> Prepared:
    if len(request.words) > 1 or (request.words and not _COUNT.fullmatch(request.words[0])):
        raise UsageError(USAGE)
    n = int(request.words[0]) if request.words else DEFAULT_ENTRIES
    if not 1 <= n <= MAX_ENTRIES:
        raise UsageError(USAGE)
    return Prepared(lambda: audit_list(deps.read(lambda: deps.audit_log.recent(n))), Kind.ADMIN)
