from __future__ import annotations

import pytest

from bot.config.access import read_access
from bot.domain.access import ANY, AccessPolicy, ClusterAccess
from tests.unit.config.files import config, refusal


def test_no_table_leaves_the_policy_open() -> None:
    assert read_access(config('[aws]\nregion = "us-east-1"')) == AccessPolicy()


def test_cluster_rules_alone_enforce_a_policy_open_to_every_channel() -> None:
    policy = read_access(config("[clusters.PROD-DB]", 'owners = ["U0ALICE01"]'))
    assert policy.enforced
    assert (policy.admins, policy.channels) == (frozenset(), frozenset({ANY}))
    # Keyed by the name RDS stores; a rule without `channels` follows the global list.
    assert policy.clusters == {"prod-db": ClusterAccess(None, frozenset({"U0ALICE01"}))}


def test_wildcards_and_groups() -> None:
    policy = read_access(
        config(
            "[access]",
            'admins = ["S0ADMINS", "W0GRIDUSER"]',
            'channels = ["C0OPS00001", "G0PRIVATE1"]',
            "[clusters.prod-db]",
            'channels = ["*"]',
        )
    )
    assert policy.admins == {"S0ADMINS", "W0GRIDUSER"}
    assert policy.channels == {"C0OPS00001", "G0PRIVATE1"}
    assert policy.clusters["prod-db"].channels == frozenset({ANY})


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            ("[access]", 'admins = ["*"]'),
            "line 2: [access] admins: '*' is not a Slack user id (U…) or user group id (S…).",
        ),
        (
            ("[access]", "admins = [", '  "U0ADMIN01",', "  42,", "]"),
            "line 4: [access] admins must be a list of strings.",
        ),
        (("", "[clusters.a--b]", "owners = []"), "line 2: a--b is not an RDS cluster identifier"),
        (
            ("[clusters]", "prod-db = { owners = [] }", '"Orders_DB" = { owners = [] }'),
            "line 3: Orders_DB is not an RDS cluster identifier",
        ),
        (
            ("[clusters]", "prod-db = 3"),
            "line 2: [clusters.prod-db] takes `channels` and `owners`.",
        ),
        (
            ("[clusters.prod-db]", 'owners = ["U0ALICE01"]', "admins = []"),
            "line 3: [clusters.prod-db] takes `channels` and `owners`.",
        ),
        (
            ("[clusters.prod-db]", "channels = [", '  "C0PROD0001",', '  "#general",', "]"),
            """line 4: [clusters.prod-db] channels: '#general' is not a channel id (C…) or "*".""",
        ),
        (("clusters = 3",), "line 1: [clusters] must be a table."),
    ],
)
def test_each_mistake_at_its_line(lines: tuple[str, ...], message: str) -> None:
    assert refusal(read_access, *lines).startswith(f"IAMAUTH_CONFIG {message}")
