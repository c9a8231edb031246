"""A stand-in for `iam:SimulatePrincipalPolicy`, which the emulator (moto) does not implement.

It answers on a real botocore IAM client, at the adapter boundary: every other IAM call (GetRole…)
still goes to the emulator. Each request is checked against IAM's service model (botocore's
validator, as its Stubber does) and recorded; each answer is checked against the documented
response shape: one EvaluationResult per (action, resource), with EvalDecision, MatchedStatements
and, where set, the permissions boundary's and the organisation's details.

Tests install it on the bot's clients; the demo can too (`install_on_bot_clients`), to show a
refused role's simulated decision.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters

from bot.adapters.aws.clients import AwsClients
from bot.domain.refused_callers import Decision

OPERATION = "SimulatePrincipalPolicy"


@dataclass
class IamSimulator:
    """Decisions per principal ARN (every resource alike; `implicitDeny` for one not listed),
    the statements that decided them, and whether the bot may call the simulation at all."""

    decisions: Mapping[str, Decision] = field(default_factory=dict)
    # Per principal: (SourcePolicyId, SourcePolicyType) of the statements that decided.
    matched: Mapping[str, Sequence[tuple[str, str]]] = field(default_factory=dict)
    boundary_allows: Mapping[str, bool] = field(default_factory=dict)
    access_denied: bool = False
    error_code: str = ""  # answer every call with this AWS error (Throttling, NoSuchEntity…)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def install(self, client: Any) -> Any:
        """Answer the client's SimulatePrincipalPolicy calls (once per client)."""
        events = client.meta.events
        events.register_first(
            f"before-parameter-build.iam.{OPERATION}", self._check, unique_id="iam-simulator-check"
        )
        events.register_first(
            f"before-call.iam.{OPERATION}", self._answer, unique_id="iam-simulator-answer"
        )
        return client

    def _check(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        validate_parameters(params, model.input_shape)  # raises ParamValidationError
        self.requests.append(copy.deepcopy(params))

    def _answer(self, model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        request = self.requests[-1]
        if self.access_denied or self.error_code:
            code = self.error_code or "AccessDenied"
            status = {"AccessDenied": 403, "NoSuchEntity": 404, "Throttling": 400}.get(code, 400)
            error = {
                "Error": {"Code": code, "Message": f"{code} for iam:SimulatePrincipalPolicy"},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }
            return AWSResponse(None, status, {}, None), error  # type: ignore[arg-type]
        response = self.response(request)
        validate_parameters(response, model.output_shape)
        response["ResponseMetadata"] = {"HTTPStatusCode": 200}
        return AWSResponse(None, 200, {}, None), response  # type: ignore[arg-type]

    def response(self, request: Mapping[str, Any]) -> dict[str, Any]:
        principal = str(request["PolicySourceArn"])
        decision = self.decisions.get(principal, "implicitDeny")
        statements = [
            {"SourcePolicyId": policy_id, "SourcePolicyType": policy_type}
            for policy_id, policy_type in self.matched.get(principal, ())
        ]
        results = []
        for action in request["ActionNames"]:
            for resource in request.get("ResourceArns") or ["*"]:
                result: dict[str, Any] = {
                    "EvalActionName": action,
                    "EvalResourceName": resource,
                    "EvalDecision": decision,
                    "MatchedStatements": statements,
                    "MissingContextValues": [],
                }
                if principal in self.boundary_allows:
                    result["PermissionsBoundaryDecisionDetail"] = {
                        "AllowedByPermissionsBoundary": self.boundary_allows[principal]
                    }
                results.append(result)
        return {"EvaluationResults": results, "IsTruncated": False}


def install_on_bot_clients(simulator: IamSimulator) -> Callable[[], None]:
    """Every IAM client the bot builds from now on answers SimulatePrincipalPolicy from
    `simulator`; returns the function that undoes it."""
    original = AwsClients.iam

    def iam(self: AwsClients) -> Any:
        return simulator.install(original(self))

    AwsClients.iam = iam  # type: ignore[method-assign]

    def undo() -> None:
        AwsClients.iam = original  # type: ignore[method-assign]

    return undo


# For `iamauth demo`: the role the seeded NotAuthorized lines name (seed_aws.Failure's default
# caller, `assumed-role/app-role/…`), created under a path so GetRole has something to find.
DEMO_ROLE = "app-role"
DEMO_ROLE_PATH = "/apps/"


def demo_refused_role(aws: AwsClients) -> Callable[[], None]:
    """Create the demo's refused role in the emulator's IAM and make every IAM client the bot
    builds answer its simulation with an implicit deny (so the answer shows the statement to
    add). Returns the function that undoes the latter."""
    role = aws.iam().create_role(
        RoleName=DEMO_ROLE, Path=DEMO_ROLE_PATH, AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    simulator = IamSimulator(decisions={str(role): "implicitDeny"})
    simulator.install(aws.iam())
    return install_on_bot_clients(simulator)
