"""Refused callers (issue 15, point 1): caller ARNs read strictly (hostile text names no
principal), the exact rds-db ARN, the least-privilege statement, per (caller, user) counts, and
IAM's simulation results read as documented."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.aws.iam_simulation import read_simulation
from bot.domain.refused_callers import (
    DbPlace,
    Simulation,
    db_user_arn,
    parse_caller,
    policy_statement,
    read_refused,
)
from bot.domain.summary import FailureSummary
from bot.sandbox.seed_aws import Failure, format_line

PLACE = DbPlace("123456789012", "eu-west-1", "cluster-ABCDEFGHIJKL01234")
ETL_SESSION = "arn:aws:sts::123456789012:assumed-role/etl-role/i-0abc"
ARN = "arn:aws:rds-db:eu-west-1:123456789012:dbuser:cluster-ABCDEFGHIJKL01234/etl"


def test_an_assumed_role_session_names_its_role_but_not_its_path() -> None:
    caller = parse_caller("arn:aws:sts::123456789012:assumed-role/etl-role/i-0abc")
    assert caller is not None
    assert (caller.kind, caller.account, caller.name, caller.session) == (
        "assumed-role",
        "123456789012",
        "etl-role",
        "i-0abc",
    )
    assert caller.principal_arn == "arn:aws:iam::123456789012:role/etl-role"
    assert caller.path_unknown


@pytest.mark.parametrize(
    ("arn", "principal", "kind"),
    [
        ("arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/alice", "user"),
        (
            "arn:aws:iam::123456789012:role/team/ops/reporting",
            "arn:aws:iam::123456789012:role/team/ops/reporting",
            "role",
        ),
        (
            "arn:aws-cn:sts::123456789012:assumed-role/r/s1",
            "arn:aws-cn:iam::123456789012:role/r",
            "assumed-role",
        ),
    ],
)
def test_users_and_roles_keep_their_path(arn: str, principal: str, kind: str) -> None:
    caller = parse_caller(arn)
    assert caller is not None
    assert (caller.principal_arn, caller.kind) == (principal, kind)


@pytest.mark.parametrize(
    "hostile",
    [
        "",
        "arn:aws:iam::123456789012:root",
        "arn:aws:sts::123456789012:federated-user/bob",
        "arn:aws:iam::12345678901:role/short-account",
        "arn:aws:iam::123456789012:role/x*",
        "arn:aws:iam::123456789012:role/x\nInjected: line",
        "arn:aws:iam::123456789012:role/<!channel>",
        "arn:aws:iam::123456789012:role/x' OR '1",
        "arn:aws:iam::１２３456789012:role/fullwidth",
        "arn:aws:sts::123456789012:assumed-role/x",
        "arn:evil:iam::123456789012:role/x",
        " arn:aws:iam::123456789012:role/x",
        "arn:aws:iam::123456789012:role/" + "x" * 65,
        "arn:aws:iam::123456789012:role/" + "p/" * 300 + "x",
    ],
)
def test_hostile_or_unknown_callers_name_no_principal(hostile: str) -> None:
    assert parse_caller(hostile) is None
    with pytest.raises(ValueError, match="not an IAM role or user ARN"):
        policy_statement(hostile, [ARN])


_NAME = st.text("abcXYZ019+=,.@_-", min_size=1, max_size=64)


@given(
    account=st.from_regex(r"\A[0-9]{12}\Z"), name=_NAME, session=_NAME.filter(lambda s: len(s) > 1)
)
def test_any_session_arn_reads_back(account: str, name: str, session: str) -> None:
    caller = parse_caller(f"arn:aws:sts::{account}:assumed-role/{name}/{session}")
    assert caller is not None
    assert caller.principal_arn == f"arn:aws:iam::{account}:role/{name}"


@given(st.text(max_size=300))
def test_any_text_reads_as_a_principal_only_in_the_arn_shape(text: str) -> None:
    caller = parse_caller(text)
    if caller is not None:
        assert re.fullmatch(r"arn:aws[a-z-]*:(iam|sts)::\d{12}:[!-~]+", text, re.ASCII)
        assert caller.arn == text


def test_the_exact_resource_arn_and_only_for_literal_user_names() -> None:
    assert db_user_arn(PLACE, "etl") == ARN
    instance = DbPlace("123456789012", "cn-north-1", "db-ABCDEFGHIJKL")
    assert db_user_arn(instance, "app") == (
        "arn:aws-cn:rds-db:cn-north-1:123456789012:dbuser:db-ABCDEFGHIJKL/app"
    )
    for user in ["*", "a?", "x/*", "${aws:username}", "a b", "<!here>", "ü", ""]:
        assert db_user_arn(PLACE, user) is None, user
    assert db_user_arn(DbPlace("unknown-account", "eu-west-1", "cluster-A"), "etl") is None
    assert db_user_arn(DbPlace("123456789012", "eu-west-1", ""), "etl") is None


def test_the_statement_is_least_privilege_and_paste_ready() -> None:
    text = policy_statement("arn:aws:iam::123456789012:role/team/etl-role", [ARN, ARN])
    statement = json.loads(text)
    assert statement == {
        "Sid": "AllowRdsDbConnectetlrole",
        "Effect": "Allow",
        "Action": "rds-db:connect",
        "Resource": [ARN],
    }
    with pytest.raises(ValueError, match="not an IAM role"):
        policy_statement("arn:aws:sts::123456789012:assumed-role/r/s", [ARN])
    with pytest.raises(ValueError, match="not rds-db dbuser ARNs"):
        policy_statement("arn:aws:iam::123456789012:role/r", [ARN.replace("/etl", "/*")])
    with pytest.raises(ValueError, match="not rds-db dbuser ARNs"):
        policy_statement("arn:aws:iam::123456789012:role/r", [])


def _summary(failures: list[Failure], *, page: bool) -> FailureSummary:
    summary = FailureSummary()
    lines = [format_line(f) for f in failures]
    if page:
        summary.add_lines(lines)
    else:
        for line in lines:
            summary.add_line(line)
    return summary


@pytest.mark.parametrize("page", [True, False])
def test_the_summary_counts_each_callers_users(page: bool) -> None:
    etl = "arn:aws:sts::123456789012:assumed-role/etl-role/i-0abc"
    other = "arn:aws:iam::123456789012:user/bob"
    at = datetime(2025, 8, 11, 4, tzinfo=UTC)
    failures = [
        Failure(at + timedelta(seconds=i), user, "NotAuthorized", caller)
        for i, (user, caller) in enumerate(
            [("etl", etl)] * 40 + [("reporting", etl)] * 20 + [("bob", other)] * 10
        )
    ] + [Failure(at, "etl", "ExpiredToken")] * 10  # no caller: not counted per caller
    summary = _summary(failures, page=page)
    assert summary.users_of_caller(etl) == [("etl", 40), ("reporting", 20)]
    assert summary.users_of_caller(other) == [("bob", 10)]
    refused = read_refused(
        summary.callers.top(5), {a: summary.users_of_caller(a) for a in (etl, other)}, PLACE
    )
    assert refused[0].resource_arns == (ARN, ARN.replace("/etl", "/reporting"))
    assert refused[0].role_arn == "arn:aws:iam::123456789012:role/etl-role"
    assert refused[0].path_note  # the session ARN does not say the role's path


def test_exact_counts_keep_the_callers_users() -> None:
    summary = FailureSummary()
    caller = "arn:aws:iam::123456789012:role/r"
    summary.take_exact_counts(
        [("app", "NotAuthorized", caller, 7), ("ro", "NotAuthorized", caller, 2)],
        {},
        0,
        None,
        None,
    )
    assert summary.users_of_caller(caller) == [("app", 7), ("ro", 2)]


def test_cross_account_callers_are_flagged_and_get_a_statement_for_the_db_account() -> None:
    refused = read_refused(
        [("arn:aws:sts::999988887777:assumed-role/app/s1", 3)],
        {"arn:aws:sts::999988887777:assumed-role/app/s1": [("etl", 3)]},
        PLACE,
    )[0]
    assert refused.cross_account
    assert refused.resource_arns == (ARN,)  # names the database's account
    assert "account 999988887777" in refused.outcome()
    assert "not checked" in refused.outcome()


def test_an_unreadable_caller_gets_no_statement_but_its_users_their_arns() -> None:
    refused = read_refused([("not an arn", 2)], {"not an arn": [("etl", 2)]}, PLACE)[0]
    assert refused.caller is None
    assert refused.role_arn is None
    assert refused.statement() is None
    assert refused.resource_arns == (ARN,)


# IAM's answers, as documented (EvaluationResults) -------------------------------------------------
def _result(decision: str, resource: str = ARN, **extra: object) -> dict[str, object]:
    return {
        "EvalActionName": "rds-db:connect",
        "EvalResourceName": resource,
        "EvalDecision": decision,
        **extra,
    }


def test_explicit_deny_names_the_denying_policy() -> None:
    simulation = read_simulation(
        [
            _result(
                "explicitDeny",
                MatchedStatements=[
                    {"SourcePolicyId": "deny-prod-db", "SourcePolicyType": "user-managed"}
                ],
            )
        ],
        [ARN],
    )
    refused = read_refused(
        [("arn:aws:iam::123456789012:role/r", 1)],
        {"arn:aws:iam::123456789012:role/r": [("etl", 1)]},
        PLACE,
    )[0]
    refused = replace(refused, simulation=simulation)
    assert refused.outcome() == "explicit deny by deny-prod-db (user-managed)"
    assert refused.statement() is None


def test_mixed_resources_add_only_what_is_denied_and_boundaries_and_scps_are_said() -> None:
    reporting = ARN.replace("/etl", "/reporting")
    simulation = read_simulation(
        [_result("allowed"), _result("implicitDeny", reporting)], [ARN, reporting]
    )
    assert simulation.decision == "implicitDeny"
    assert simulation.denied_resources([ARN, reporting]) == [reporting]
    boundary = read_simulation(
        [
            _result(
                "implicitDeny",
                PermissionsBoundaryDecisionDetail={"AllowedByPermissionsBoundary": False},
            )
        ],
        [ARN],
    )
    assert boundary.boundary_allows is False
    scp = read_simulation(
        [_result("explicitDeny", OrganizationsDecisionDetail={"AllowedByOrganizations": False})],
        [ARN],
    )
    assert scp.organizations_allow is False
    allowed = read_simulation([_result("allowed")], [ARN])
    assert allowed.decision == "allowed"
    assert read_simulation([], [ARN]).decision is None


def test_resource_specific_results_are_read_per_resource() -> None:
    reporting = ARN.replace("/etl", "/reporting")
    simulation = read_simulation(
        [
            {
                "EvalActionName": "rds-db:connect",
                "EvalResourceName": "*",
                "EvalDecision": "implicitDeny",
                "ResourceSpecificResults": [
                    {"EvalResourceName": ARN, "EvalResourceDecision": "allowed"},
                    {"EvalResourceName": reporting, "EvalResourceDecision": "implicitDeny"},
                ],
            }
        ],
        [ARN, reporting],
    )
    assert simulation.by_resource == {ARN: "allowed", reporting: "implicitDeny"}
    assert simulation.denied_resources([ARN, reporting]) == [reporting]
    assert Simulation.not_checked("x").denied_resources([ARN]) == [ARN]


def test_an_unknown_database_account_flags_no_caller_as_cross_account() -> None:
    unknown = DbPlace("unknown-account", "eu-west-1", "cluster-ABCDEFGHIJKL01234")
    refused = read_refused([(ETL_SESSION, 1)], {ETL_SESSION: [("etl", 1)]}, unknown)[0]
    assert not refused.cross_account
    assert refused.resource_arns == ()
    assert refused.unsafe_users == ()
