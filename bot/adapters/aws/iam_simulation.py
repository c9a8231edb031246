"""What IAM says of a refused caller: `iam:SimulatePrincipalPolicy` of rds-db:connect on the exact
database-user ARNs, and `iam:GetRole` for the path an assumed-role session ARN leaves out. Both
are optional permissions: without them the answer says "not checked" and why.

The simulator evaluates the principal's identity-based policies, its permissions boundary and the
organisation's SCPs (AWS's API reference); it does not know session policies, the database's own
grants or the live request's condition context. Results are cached for a few minutes: the same
callers are refused again and again during an incident.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from bot.adapters.aws.errors import ACCESS_DENIED_CODES, error_code, is_throttling
from bot.domain.refused_callers import (
    CONNECT_ACTION,
    Decision,
    MatchedPolicy,
    Simulation,
    combined_decision,
    is_principal_arn,
)
from bot.ops.cache import TtlCache

CACHE_SECONDS = 300.0
_DECISIONS: frozenset[str] = frozenset({"allowed", "implicitDeny", "explicitDeny"})

_simulations: TtlCache[Simulation] = TtlCache(CACHE_SECONDS)
_roles: TtlCache[str | None] = TtlCache(CACHE_SECONDS)


class _Transient(Exception):
    """An error not worth remembering (throttling, a network error): not cached."""


def forget() -> None:
    """Drop the cached findings (tests; a policy just changed)."""
    _simulations.clear()
    _roles.clear()


def simulate_connect(
    iam: Any, principal_arn: str, resource_arns: Sequence[str], place: str = ""
) -> Simulation:
    """rds-db:connect for `principal_arn` (an IAM role or user ARN) on `resource_arns`."""
    if not is_principal_arn(principal_arn) or not resource_arns:
        return Simulation.not_checked("no IAM role or user to simulate")
    key = (place, principal_arn, tuple(sorted(resource_arns)))
    try:
        return _simulations.get(key, lambda: _simulate(iam, principal_arn, list(resource_arns)))
    except _Transient as error:
        return Simulation.not_checked(str(error))


def _simulate(iam: Any, principal_arn: str, resource_arns: list[str]) -> Simulation:
    results: list[Mapping[str, Any]] = []
    request: dict[str, Any] = {
        "PolicySourceArn": principal_arn,
        "ActionNames": [CONNECT_ACTION],
        "ResourceArns": resource_arns,
    }
    try:
        while True:
            page = iam.simulate_principal_policy(**request)
            results.extend(page.get("EvaluationResults", []))
            if not page.get("IsTruncated") or not page.get("Marker"):
                break
            request["Marker"] = page["Marker"]
    except ClientError as error:
        code = error_code(error)
        if code in ACCESS_DENIED_CODES:
            return Simulation.not_checked("the bot may not call iam:SimulatePrincipalPolicy")
        if code == "NoSuchEntity":
            return Simulation.not_checked(f"IAM knows no principal {principal_arn}")
        if is_throttling(error):
            raise _Transient(f"IAM throttled iam:SimulatePrincipalPolicy ({code})") from None
        raise _Transient(f"IAM did not simulate it ({code or 'error'})") from None
    except (BotoCoreError, ResponseParserError) as error:
        raise _Transient(f"IAM did not answer ({type(error).__name__})") from None
    return read_simulation(results, resource_arns)


def read_simulation(results: Sequence[Mapping[str, Any]], asked: Sequence[str]) -> Simulation:
    """The EvaluationResults of rds-db:connect, read into one finding: per resource where the
    simulator said them apart (one result per resource, or ResourceSpecificResults)."""
    by_resource: dict[str, Decision] = {}
    decisions: list[Decision] = []
    matched_of: dict[Decision, list[MatchedPolicy]] = {}
    boundary: list[bool] = []
    organizations: list[bool] = []
    missing: list[str] = []
    for result in results:
        if str(result.get("EvalActionName", "")).lower() != CONNECT_ACTION:
            continue
        decision = _decision(result.get("EvalDecision"))
        if decision is None:
            continue
        decisions.append(decision)
        name = str(result.get("EvalResourceName", ""))
        if name in asked:
            by_resource[name] = decision
        _matched(result, matched_of.setdefault(decision, []))
        missing.extend(map(str, result.get("MissingContextValues", [])))
        for specific in result.get("ResourceSpecificResults", []):
            each = _decision(specific.get("EvalResourceDecision"))
            each_name = str(specific.get("EvalResourceName", ""))
            if each is not None and each_name in asked:
                by_resource[each_name] = each
                _matched(specific, matched_of.setdefault(each, []))
                _detail(specific.get("PermissionsBoundaryDecisionDetail"), boundary, "Boundary")
        _detail(result.get("PermissionsBoundaryDecisionDetail"), boundary, "Boundary")
        _detail(result.get("OrganizationsDecisionDetail"), organizations, "Organizations")
    if not decisions:
        return Simulation.not_checked("IAM returned no result for rds-db:connect")
    overall = combined_decision([*decisions, *by_resource.values()])
    return Simulation(
        overall,
        by_resource=by_resource,
        matched=tuple(dict.fromkeys(matched_of.get(overall, []))),
        boundary_allows=all(boundary) if boundary else None,
        organizations_allow=all(organizations) if organizations else None,
        missing_context=tuple(dict.fromkeys(missing)),
    )


def _decision(value: Any) -> Decision | None:
    return value if value in _DECISIONS else None


def _matched(result: Mapping[str, Any], into: list[MatchedPolicy]) -> None:
    for statement in result.get("MatchedStatements", []):
        policy_id = str(statement.get("SourcePolicyId", ""))
        if policy_id:
            into.append(MatchedPolicy(policy_id, str(statement.get("SourcePolicyType", ""))))


def _detail(detail: Any, into: list[bool], what: str) -> None:
    if isinstance(detail, Mapping):
        allowed = detail.get(f"AllowedBy{'PermissionsBoundary' if what == 'Boundary' else what}")
        if isinstance(allowed, bool):
            into.append(allowed)


def role_arn(iam: Any, role_name: str, place: str = "") -> str | None:
    """The role's ARN with its path (iam:GetRole), or None where IAM may not or does not say."""

    def ask() -> str | None:
        try:
            arn = str(iam.get_role(RoleName=role_name)["Role"]["Arn"])
        except ClientError as error:
            if error_code(error) in ACCESS_DENIED_CODES or error_code(error) == "NoSuchEntity":
                return None
            raise _Transient(error_code(error)) from None
        except (BotoCoreError, ResponseParserError):
            raise _Transient("no answer") from None
        return arn if is_principal_arn(arn) and arn.endswith(f"/{role_name}") else None

    try:
        return _roles.get((place, role_name), ask)
    except _Transient:
        return None
