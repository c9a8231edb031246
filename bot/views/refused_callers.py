"""The refused callers of a failures answer, one section each: the IAM principal, its account
(another account than the database's flagged), the exact database-user ARNs, what IAM's policy
simulator found and the statement to add. Everything from the log is escaped; each section stays
within Slack's 3,000 characters (at most USERS_SHOWN users and ARNs a caller)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block

from bot.domain.refused_callers import RefusedCaller
from bot.services.refused_callers import RefusedCallers
from bot.views.blocks import SECTION_CHARS, context, section
from bot.views.mrkdwn import block_quote_code, code, quoted

USERS_SHOWN = 5


def refused_blocks(answer: RefusedCallers | None) -> list[Block]:
    if answer is None or not answer.callers:
        return []
    blocks: list[Block] = [section(caller_text(caller)) for caller in answer.callers]
    notes = []
    if answer.more:
        notes.append(f"{answer.more:,} more refused callers are counted above, not analysed.")
    if not answer.account_known:
        notes.append(
            "The database's account is unknown (STS did not answer), so no exact ARN is shown."
        )
    if notes:
        blocks.append(context(" ".join(notes)))
    return blocks


def caller_text(refused: RefusedCaller) -> str:
    lines = [f"*Refused caller* {code(refused.arn, 200)} ×{refused.count:,}"]
    who = refused.caller
    if who is None:
        lines.append("Not an IAM role, user or assumed-role session: no statement is built.")
    else:
        principal = refused.role_arn or who.principal_arn
        noun = "Role" if who.principal_kind == "role" else "User"
        account = f"account {code(who.account, 20)}"
        if refused.cross_account:
            account += (
                f" :warning: *another account* than the database's ({code(refused.db_account, 20)})"
            )
        lines.append(f"{noun} {code(principal, 200)} · {account}")
        if refused.path_note:
            lines.append(f"_{quoted(refused.path_note, 200)}_")
    users = refused.users[:USERS_SHOWN]
    if users:
        named = ", ".join(f"{code(user, 60)} ×{n:,}" for user, n in users)
        more = len(refused.users) - len(users) + refused.more_users
        lines.append(f"Database users: {named}" + (f" and {more:,} more" if more > 0 else ""))
    resources = [f"Resource {code(arn, 250)}" for arn in refused.resource_arns]
    lines.append("\n".join(resources))
    at_resources = len(lines) - 1
    if refused.unsafe_users:
        lines.append(
            f"No ARN for {len(refused.unsafe_users):,} user name(s) holding characters a policy "
            "cannot name literally (wildcards, spaces, …)."
        )
    lines.append(f"_IAM policy simulation:_ {quoted(refused.outcome(), 700)}")
    statement = refused.statement()
    if statement is not None:
        where = (
            f"Statement for a role in account {code(refused.db_account, 20)} that the caller "
            "assumes (AWS requires the principal in the database's account):"
            if refused.cross_account
            else "Statement to add to its policy:"
        )
        lines.append(where + block_quote_code(statement, 1500))
    text = "\n".join(line for line in lines if line)
    if len(text) > SECTION_CHARS and statement is not None:
        # Within Slack's limit, whole: the statement names the same ARNs.
        lines[at_resources] = "Resources: in the statement below."
        text = "\n".join(line for line in lines if line)
    return text


def refused_json(answer: RefusedCallers | None) -> list[dict[str, Any]]:
    """The `callers` entries of `iamauth failures --json` (shape in bot/views/json_reports.py)."""
    if answer is None:
        return []
    return [_caller_json(caller) for caller in answer.callers]


def _caller_json(refused: RefusedCaller) -> dict[str, Any]:
    who = refused.caller
    simulation = refused.simulation
    checked = simulation is not None and simulation.decision is not None
    return {
        "caller": refused.arn,
        "count": refused.count,
        "role": (refused.role_arn or who.principal_arn) if who is not None else None,
        "role_path_known": who is not None and (not who.path_unknown or refused.path_resolved),
        "account": who.account if who is not None else None,
        "cross_account": refused.cross_account,
        "users": dict(refused.users),
        "resource_arns": list(refused.resource_arns),
        "simulation": {
            "decision": simulation.decision if checked and simulation else None,
            "outcome": refused.outcome(),
            "matched_policies": [
                {"id": p.policy_id, "type": p.policy_type}
                for p in (simulation.matched if simulation else ())
            ],
            "permissions_boundary_allows": simulation.boundary_allows if simulation else None,
            "organizations_allow": simulation.organizations_allow if simulation else None,
            "missing_context": list(simulation.missing_context) if simulation else [],
        },
        "statement": refused.statement(),
    }
