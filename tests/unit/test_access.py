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


ADDRESS = "123456789012/us-east-1/prod-db"


def test_one_read_rule_keyed_by_the_short_name_covers_every_address() -> None:
    assert POLICY.may_read(ADDRESS, "C0PROD0001")
    assert not POLICY.may_read(ADDRESS, "C0OPS00001")
    refused = POLICY.decide(Kind.READ, ADDRESS, "U1", "C0OPS00001")
    assert refused.reason == f"`{ADDRESS}` may not be queried from this channel."
    assert POLICY.decide(Kind.CHANGE, ADDRESS, "U0ALICE01", "C0RANDOM01").allowed
    assert POLICY.groups_mentioned(ADDRESS) == {"S0ADMINS", "S0DBTEAM"}
    # Another place's cluster of another name follows the global list.
    assert POLICY.may_read("123456789012/us-east-1/other-db", "C0OPS00001")


def test_lists_are_allowed_where_some_cluster_may_be_read_and_show_only_those() -> None:
    assert POLICY.decide(Kind.READ, None, "U1", "C0PROD0001").allowed  # prod-db's own channel
    assert POLICY.decide(Kind.READ, None, "U1", "C0OPS00001").allowed  # the global list
    assert POLICY.decide(Kind.READ, None, "U1", "C0RANDOM01").allowed  # dev-db: "*"
    strict = AccessPolicy(
        enforced=True,
        channels=frozenset({"C0OPS00001"}),
        clusters={"prod-db": ClusterAccess(channels=frozenset({"C0PROD0001"}))},
    )
    refused = strict.decide(Kind.READ, None, "U1", "C0RANDOM01")
    assert refused.reason == "iamauth may not be queried from this channel."
    clusters = ["prod-db", ADDRESS, "other-db", "dev-db"]
    assert POLICY.readable(clusters, str, "C0OPS00001") == (["other-db", "dev-db"], 2)
    assert POLICY.readable(clusters, str, "C0PROD0001") == (["prod-db", ADDRESS, "dev-db"], 1)
    assert POLICY.readable(clusters, str, "C0RANDOM01") == (["dev-db"], 3)


def test_a_change_may_send_a_cluster_only_where_it_may_be_read() -> None:
    for user in ("U0ALICE01", "U0ADMIN01"):  # owners and admins alike
        refused = POLICY.decide(
            Kind.CHANGE, "prod-db", user, "C0PROD0001", destination="C0OPS00001"
        )
        assert refused.reason == (
            "`prod-db` may not be queried in the channel `C0OPS00001`, so its alerts may not be "
            "sent there."
        )
        assert POLICY.decide(
            Kind.CHANGE, ADDRESS, user, "C0OPS00001", destination="C0PROD0001"
        ).allowed
    # Who may change is decided first: a stranger learns nothing about the channel.
    stranger = POLICY.decide(Kind.CHANGE, "prod-db", "U0BOB0001", "C1", destination="C0OPS00001")
    assert stranger.reason.startswith("Only admins and the owners")
    assert AccessPolicy().decide(Kind.CHANGE, "prod-db", "U1", "C1", destination="C2").allowed
