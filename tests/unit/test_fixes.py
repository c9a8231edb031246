"""The fix that fits (bot/domain/fixes.py): one fix per code seen, most frequent first, with its
evidence; tokens reused where a client's failures are all ExpiredToken."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.correlate import ClientGroup
from bot.domain.fixes import (
    describe,
    fixes_by_family,
    fixes_seen,
    reuse_sites,
)
from bot.domain.records import Family
from bot.views.fixes import MRKDWN, fix_first_text

ROLE = "arn:aws:sts::123456789012:assumed-role/reporting-role/job"
ROLE_ARN = "arn:aws:iam::123456789012:role/reporting-role"
codes = st.sampled_from(
    ["InvalidToken", "ExpiredToken", "NotAuthorized", "ThrottlingException", "InternalError"]
) | st.text(min_size=1, max_size=20)


def group(user: str, code: str, clients: list[tuple[str, int]]) -> ClientGroup:
    return ClientGroup(user, code, sum(n for _, n in clients), clients, 0, ["orders"])


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(codes, st.integers(min_value=0, max_value=10_000), max_size=12))
def test_one_fix_per_code_seen_most_frequent_first(by_code: dict[str, int]) -> None:
    fixes = fixes_seen(by_code)
    seen = {c for c, n in by_code.items() if n > 0}
    assert sorted(f.code for f in fixes) == sorted(seen)  # every code seen exactly once
    assert [f.count for f in fixes] == sorted((f.count for f in fixes), reverse=True)
    assert all(f.count == by_code[f.code] for f in fixes)
    for fix in fixes:
        assert describe(fix).startswith(f"{fix.count:,} ")


def test_an_expired_token_burst_gets_the_expired_token_fix_first() -> None:
    fixes = fixes_seen({"InvalidToken": 4, "ExpiredToken": 103})
    assert [(f.code, f.count) for f in fixes] == [("ExpiredToken", 103), ("InvalidToken", 4)]
    first = describe(fixes[0])
    assert first.startswith("103 ExpiredToken: the token is older than 15 minutes")
    assert describe(fixes[1]).startswith("4 InvalidToken: the token was generated for another")


def test_clients_whose_failures_are_all_expired_tokens_reuse_tokens() -> None:
    groups = [
        group("checkout_svc", "ExpiredToken", [("10.0.2.8", 98), ("10.0.1.67", 3)]),
        group("batch", "ExpiredToken", [("10.0.3.9", 2)]),
        group("checkout_svc", "InvalidToken", [("10.0.1.67", 4)]),  # mixed: not reuse
        group("app", "InvalidToken", [("10.0.4.4", 1)]),
    ]
    sites = reuse_sites(groups, {"10.0.2.8": "checkout-api"})
    assert [(s.address, s.failures, s.users, s.name) for s in sites] == [
        ("10.0.2.8", 98, ("checkout_svc",), "checkout-api"),
        ("10.0.3.9", 2, ("batch",), None),
    ]
    fixes = fixes_seen(
        {"ExpiredToken": 103, "InvalidToken": 5},
        clients=groups,
        names={"10.0.2.8": "checkout-api"},
    )
    text = describe(fixes[0])
    assert "Tokens are being reused at 10.0.2.8 (checkout-api) ×98, 10.0.3.9 ×2" in text
    assert "(users checkout_svc, batch)" in text
    assert "10.0.1.67" not in text
    assert "reused" not in describe(fixes[1])


def test_no_client_data_no_reuse_claim() -> None:
    (fix,) = fixes_seen({"ExpiredToken": 10}, clients=None)
    assert fix.reused_at == ()
    assert "reused" not in describe(fix)
    (mixed,) = fixes_seen(
        {"ExpiredToken": 10},
        clients=[
            group("a", "ExpiredToken", [("10.0.0.1", 9)]),
            group("a", "NotAuthorized", [("10.0.0.1", 1)]),
        ],
    )
    assert mixed.reused_at == ()


def test_not_authorized_names_the_caller_and_carries_the_statement_given() -> None:
    callers = [(ROLE, 5)]
    (plain,) = fixes_seen(
        {"NotAuthorized": 5}, users_for_code=lambda c: ["reporting"], callers=callers
    )
    assert f"Refused: {ROLE} ×5 as database user reporting." in describe(plain)
    assert "Add to the policy" not in describe(plain)
    statement = '{"Effect": "Allow", "Action": "rds-db:connect", "Resource": ["arn:…"]}'
    (fitted,) = fixes_seen(
        {"NotAuthorized": 5},
        users_for_code=lambda c: ["reporting"],
        callers=callers,
        statements={ROLE: (ROLE_ARN, statement)},
    )
    text = describe(fitted)
    assert text.startswith("5 NotAuthorized: the caller's IAM policy does not allow")
    assert "<region>" not in text  # the statement replaces the documented pattern
    # The role behind the session, not the session, is what a person edits.
    assert text.endswith(f"Add to the policy of {ROLE_ARN}:\n{statement}")
    assert f"```{statement.replace('<', '&lt;')}```" in describe(fitted, MRKDWN)


def test_an_unknown_code_says_to_read_the_samples() -> None:
    (fix,) = fixes_seen({"BrandNewCode": 2})
    assert describe(fix) == (
        "2 BrandNewCode: an error code iamauth does not know yet: read the sample lines."
    )


def test_by_family_only_when_the_export_is_off() -> None:
    fixes = fixes_by_family({Family.INVALID_TOKEN: 7, Family.INSUFFICIENT_PERMISSIONS: 40})
    assert [f.code for f in fixes] == ["InsufficientPermissions", "InvalidToken"]
    text = describe(fixes[1])
    assert text.startswith("7 InvalidToken (by family): the token is malformed")
    assert "older than 15 minutes" in text  # the family covers ExpiredToken too
    assert text.endswith("(By family: the log export is off: turn it on to see which code.)")
    assert fixes_by_family({Family.THROTTLING: 0}) == []


def test_untrusted_names_are_escaped_in_mrkdwn() -> None:
    groups = [group("<!channel>", "ExpiredToken", [("<@U1>", 3)])]
    fixes = fixes_seen({"ExpiredToken": 3}, clients=groups, names={"<@U1>": "<!here>"})
    text = fix_first_text(fixes)
    assert text is not None
    assert "<" not in text.replace("&lt;", "")
    assert "`&lt;@U1&gt;` (`&lt;!here&gt;`) ×3" in text


def test_the_failures_answer_offers_statements_only_for_roles_of_the_databases_account() -> None:
    """A caller in another account gets no statement (its role must be in the database's
    account); a session's statement is keyed to its caller and names the role behind it."""
    from bot.domain.refused_callers import RefusedCaller, parse_caller
    from bot.services.refused_callers import RefusedCallers

    resource = "arn:aws:rds-db:us-east-1:123456789012:dbuser:cluster-ABC/reporting"
    other = "arn:aws:sts::999999999999:assumed-role/etl/run"

    def refused(arn: str, role: str) -> RefusedCaller:
        return RefusedCaller(
            arn,
            5,
            parse_caller(arn),
            (("reporting", 5),),
            "123456789012",
            (resource,),
            role_arn=role,
        )

    callers = RefusedCallers(
        (refused(ROLE, ROLE_ARN), refused(other, "arn:aws:iam::999999999999:role/etl"))
    )
    statements = callers.statements_to_add()
    assert list(statements) == [ROLE]
    principal, statement = statements[ROLE]
    assert principal == ROLE_ARN
    assert resource in statement
