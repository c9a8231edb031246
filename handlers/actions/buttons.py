"""What every button listener shares: ack at once and do the work after the ack under the click's
request id; read who clicked where, validate and authorise the click, or turn it down."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_bolt import Ack, Respond

from bot.domain.access import Kind
from bot.ops import request_id
from bot.views.blocks import error_message
from handlers.context import AuditTrail, Deps

# Validates, authorises, acts and answers one click (after the ack).
Work = Callable[[Deps, Respond, dict[str, Any]], None]
_USER_ID = re.compile(r"\A[UW][A-Z0-9]{2,20}\Z")
T = TypeVar("T")


def button_listener(deps: Deps, work: Work) -> Callable[..., None]:
    def on_click(ack: Ack, respond: Respond, body: dict[str, Any]) -> None:
        ack()
        deps.later(lambda: work(deps, respond, body))

    return request_id.new_request(on_click)


def _field(container: object, key: str) -> object:
    """`container[key]` of a payload whose shape is not trusted; "" where there is none."""
    return container.get(key, "") if isinstance(container, dict) else ""


@dataclass(frozen=True)
class Click:
    """Who clicked which button where, as audited and counted."""

    value: str
    user: str  # checked before it is ever shown; "" when it is not a user id
    channel: str
    trail: AuditTrail  # action `button <action id> <value>`, counted under the button's name

    @classmethod
    def read(cls, body: dict[str, Any], action_id: str, command: str) -> Click:
        actions = body.get("actions")
        action = actions[0] if isinstance(actions, list) and actions else {}
        user = str(_field(body.get("user"), "id"))
        channel = str(_field(body.get("channel"), "id"))
        value = str(_field(action, "value"))
        user = user if _USER_ID.match(user) else ""
        return cls(
            value, user, channel, AuditTrail(user, channel, f"button {action_id} {value}", command)
        )

    def audit(self, deps: Deps, outcome: str, detail: str = "") -> None:
        deps.audit(self.trail, outcome, detail)

    def turn_down(self, deps: Deps, respond: Respond, outcome: str, reason: str) -> None:
        """Audit a click that was refused, invalid or over its budget, and tell only the person
        who clicked why."""
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
    reads_aws: bool = False,
) -> tuple[Click, T] | None:
    """Validate the button's value with `parse` (→ what it means and the cluster it is about, as
    its canonical address text; ValueError says why not), authorise the clicker as for the
    command it stands for, and spend their AWS budget if it `reads_aws`. A click turned down is
    audited and told why, and None is returned: nothing else happens."""
    click = Click.read(body, action_id, command)
    try:
        parsed, cluster = parse(click.value)
    except ValueError as error:
        click.turn_down(deps, respond, "invalid", str(error))
        return None
    decision = deps.decide(kind, cluster, click.user, click.channel, None)
    if not decision.allowed:
        click.turn_down(deps, respond, "refused", decision.reason)
        return None
    if reads_aws and (limited := deps.limit(click.user)):
        click.turn_down(deps, respond, "limited", limited)
        return None
    return click, parsed
