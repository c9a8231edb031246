"""What every button listener shares: ack at once and do the work after the ack under the click's
request id; read who clicked where, validate and authorise the click, or turn it down."""

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


@dataclass(frozen=True)
class Click:
    """Who clicked which button where, as audited and counted."""

    value: str
    user: str  # checked before it is ever shown; "" when it is not a user id
    channel: str
    action: str  # as written to the audit log: `button <action id> <value>`
    command: str  # as counted in iamauth_commands_total

    @classmethod
    def read(cls, body: dict[str, Any], action_id: str, command: str) -> Click:
        action = (body.get("actions") or [{}])[0]
        user = str((body.get("user") or {}).get("id", ""))
        channel = str((body.get("channel") or {}).get("id", ""))
        value = str(action.get("value", ""))
        return cls(
            value,
            user if _USER_ID.match(user) else "",
            channel,
            f"button {action_id} {value}",
            command,
        )

    def audit(self, deps: Deps, outcome: str, detail: str = "") -> None:
        deps.audit(self.user, self.channel, self.action, outcome, detail, command=self.command)

    def turn_down(self, deps: Deps, respond: Respond, outcome: str, reason: str) -> None:
        """Audit a click that was refused or invalid, and tell only the person who clicked why."""
        self.audit(deps, outcome, reason)
        respond(
            **error_message(reason).to_dict(), response_type="ephemeral", replace_original=False
        )


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
    click = Click.read(body, action_id, command)
    try:
        parsed, cluster = parse(click.value)
    except ValueError as error:
        click.turn_down(deps, respond, "invalid", str(error))
        return None
    decision = deps.decide(kind, cluster, click.user, click.channel)
    if not decision.allowed:
        click.turn_down(deps, respond, "refused", decision.reason)
        return None
    return click, parsed
