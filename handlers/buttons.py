"""What every button listener shares: ack at once and do the work after the ack under the click's
request id, read the click's ids, and turn a click down."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_bolt import Ack, Respond

from bot import request_id
from bot.domain.access import Kind
from bot.slack.render import error_message
from handlers.context import Deps

# Validates, authorises, acts and answers one click (after the ack).
Work = Callable[[Deps, Respond, dict[str, Any]], None]
_USER_ID = re.compile(r"\A[UW][A-Z0-9]{2,20}\Z")
T = TypeVar("T")


def button_listener(deps: Deps, work: Work) -> Callable[..., None]:
    def on_click(ack: Ack, respond: Respond, body: dict[str, Any]) -> None:
        ack()
        deps.later(lambda: work(deps, respond, body))

    return request_id.new_request(on_click)


def clicked(body: dict[str, Any]) -> tuple[str, str, str]:
    """(button value, user id, channel id), ids checked before they are ever shown."""
    action = (body.get("actions") or [{}])[0]
    user = str((body.get("user") or {}).get("id", ""))
    channel = str((body.get("channel") or {}).get("id", ""))
    return str(action.get("value", "")), user if _USER_ID.match(user) else "", channel


def turned_down(
    deps: Deps,
    respond: Respond,
    who: tuple[str, str, str],
    outcome: str,
    reason: str,
    *,
    command: str = "button",
) -> None:
    """Audit a click that was refused or invalid, and tell only the person who clicked why."""
    user, channel, action = who
    deps.audit(user, channel, action, outcome, reason, command=command)
    respond(**error_message(reason).to_dict(), response_type="ephemeral", replace_original=False)


@dataclass(frozen=True)
class Click:
    """A click that passed validation and authorisation: who, where, and how it is audited."""

    user: str
    channel: str
    action: str  # as written to the audit log: `button <action id> <value>`
    command: str  # as counted in iamauth_commands_total

    def audit(self, deps: Deps, outcome: str, detail: str = "") -> None:
        deps.audit(self.user, self.channel, self.action, outcome, detail, command=self.command)


def accept_click(
    deps: Deps,
    respond: Respond,
    body: dict[str, Any],
    *,
    action_id: str,
    command: str,
    kind: Kind,
    parse: Callable[[str], tuple[T, str]],
) -> tuple[Click, T] | None:
    """Validate the button's value with `parse` (→ what it means and the cluster it is about;
    ValueError says why not) and authorise the clicker as for the command it stands for. A click
    turned down is audited and told why, and None is returned: nothing else happens."""
    value, user, channel = clicked(body)
    who = (user, channel, f"button {action_id} {value}")
    try:
        parsed, cluster = parse(value)
    except ValueError as error:
        turned_down(deps, respond, who, "invalid", str(error), command=command)
        return None
    decision = deps.decide(kind, cluster, user, channel)
    if not decision.allowed:
        turned_down(deps, respond, who, "refused", decision.reason, command=command)
        return None
    return Click(user, channel, who[2], command), parsed
