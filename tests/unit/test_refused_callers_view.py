"""The refused callers' sections: untrusted text escaped, every section within Slack's 3,000
characters with its statement whole, and the JSON entries' shape."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.domain.refused_callers import DbPlace, MatchedPolicy, Simulation, read_refused
from bot.services.refused_callers import RefusedCallers
from bot.views.blocks import MAX_SECTION_TEXT
from bot.views.refused_callers import caller_text, refused_blocks, refused_json

PLACE = DbPlace("123456789012", "us-east-1", "cluster-ABCDEFGHIJKL01234")
ROLE = "arn:aws:iam::123456789012:role/etl"


def test_a_hostile_caller_is_escaped_and_gets_no_statement() -> None:
    hostile = "<!channel> arn:aws:iam::123456789012:role/x`*bold*`"
    refused = read_refused([(hostile, 2)], {hostile: [("<@U123>", 2)]}, PLACE)
    text = caller_text(refused[0])
    assert "<!channel>" not in text
    assert "<@U123>" not in text
    assert "&lt;!channel&gt;" in text
    assert "Statement" not in text
    assert "not checked" in text


def test_long_names_keep_the_section_within_slacks_limit_and_the_statement_whole() -> None:
    users = [(f"{'u' * 120}{i}", 10 - i) for i in range(8)]
    refused = read_refused([(ROLE, 50)], {ROLE: users}, PLACE)[0]
    refused = replace(refused, simulation=Simulation("implicitDeny"))
    text = caller_text(refused)
    assert len(text) <= MAX_SECTION_TEXT
    assert text.endswith("```")
    statement = json.loads(text.split("```")[1])
    assert len(statement["Resource"]) == 5  # the 5 most refused users
    assert "and 3 more" in text


def test_blocks_and_json_say_the_same() -> None:
    refused = read_refused(
        [(ROLE, 3), ("arn:aws:sts::999988887777:assumed-role/p/s1", 1)],
        {ROLE: [("etl", 3)], "arn:aws:sts::999988887777:assumed-role/p/s1": [("etl", 1)]},
        PLACE,
    )
    denied = replace(
        refused[0],
        simulation=Simulation("explicitDeny", matched=(MatchedPolicy("deny-all", "aws-managed"),)),
    )
    answer = RefusedCallers((denied, refused[1]), more=2)
    blocks = [b.to_dict() for b in refused_blocks(answer)]
    assert len(blocks) == 3
    assert "explicit deny by deny-all (aws-managed)" in blocks[0]["text"]["text"]
    assert "*another account*" in blocks[1]["text"]["text"]
    assert "2 more refused callers" in blocks[2]["elements"][0]["text"]
    entries = refused_json(answer)
    assert entries[0] == {
        "caller": ROLE,
        "count": 3,
        "role": ROLE,
        "role_path_known": True,
        "account": "123456789012",
        "cross_account": False,
        "users": {"etl": 3},
        "resource_arns": [
            "arn:aws:rds-db:us-east-1:123456789012:dbuser:cluster-ABCDEFGHIJKL01234/etl"
        ],
        "simulation": {
            "decision": "explicitDeny",
            "outcome": "explicit deny by deny-all (aws-managed)",
            "matched_policies": [{"id": "deny-all", "type": "aws-managed"}],
            "permissions_boundary_allows": None,
            "organizations_allow": None,
            "missing_context": [],
        },
        "statement": None,
    }
    assert entries[1]["cross_account"] is True
    assert entries[1]["role_path_known"] is False
    assert entries[1]["simulation"]["decision"] is None
    assert refused_json(None) == []
