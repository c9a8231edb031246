from __future__ import annotations

from bot.domain.access import AccessPolicy, ClusterAccess, Kind

POLICY = AccessPolicy(
    enforced=True,
    admins=frozenset({"U0ADMIN01", "S0ADMINS"}),
    channels=frozenset({"C0OPS00001"}),
    clusters={
        "prod-db": ClusterAccess(
            channels=frozenset({"C0PROD0001"}), owners=frozenset({"U0ALICE01", "S0DBTEAM"})
        ),
        "dev-db": ClusterAccess(channels=frozenset({"*"})),
    },
)


def test_reads_follow_the_cluster_list_then_the_global_list() -> None:
    assert POLICY.decide(Kind.READ, "prod-db", "U1", "C0PROD0001").allowed
    refused = POLICY.decide(Kind.READ, "prod-db", "U1", "C0OPS00001")
    assert not refused.allowed
    assert refused.reason == "`prod-db` may not be queried from this channel."
    assert POLICY.decide(Kind.READ, "other-db", "U1", "C0OPS00001").allowed
    assert not POLICY.decide(Kind.READ, "other-db", "U1", "C0RANDOM01").allowed
    assert POLICY.decide(Kind.READ, "dev-db", "U1", "C0RANDOM01").allowed


def test_changes_need_an_admin_or_an_owner() -> None:
    assert POLICY.decide(Kind.CHANGE, "prod-db", "U0ADMIN01", "C0RANDOM01").allowed
    assert POLICY.decide(Kind.CHANGE, "prod-db", "U0ALICE01", "C0RANDOM01").allowed
    assert POLICY.decide(
        Kind.CHANGE, "prod-db", "U0BOB0001", "C0PROD0001", frozenset({"S0DBTEAM"})
    ).allowed
    assert POLICY.decide(
        Kind.CHANGE, "prod-db", "U0BOB0001", "C0PROD0001", frozenset({"S0ADMINS"})
    ).allowed
    refused = POLICY.decide(Kind.CHANGE, "prod-db", "U0BOB0001", "C0PROD0001")
    assert refused.reason == "Only admins and the owners of `prod-db` may change its alerts."
    assert not POLICY.decide(Kind.CHANGE, "dev-db", "U0ALICE01", "C0PROD0001").allowed


def test_admin_commands() -> None:
    assert POLICY.decide(Kind.ADMIN, None, "U0ADMIN01", "C1").allowed
    assert not POLICY.decide(Kind.ADMIN, None, "U0ALICE01", "C1").allowed


def test_groups_that_matter() -> None:
    assert POLICY.groups_mentioned("prod-db") == {"S0ADMINS", "S0DBTEAM"}
    assert POLICY.groups_mentioned(None) == {"S0ADMINS"}


def test_an_open_policy_allows_everything() -> None:
    open_policy = AccessPolicy()
    assert all(open_policy.decide(kind, "prod-db", "U1", "C1").allowed for kind in Kind)
