"""[[target]] tables → TargetSpecs: name, regions, and optionally role_arn, external_id,
session_name (the accounts and regions iamauth looks in; bot/adapters/aws/targets.py uses them)."""

from __future__ import annotations

import re

from bot.adapters.aws.targets import TargetSpec
from bot.config.file import Table
from bot.domain.address import REGION_PATTERN

TARGET_KEYS = frozenset({"name", "regions", "role_arn", "external_id", "session_name"})
ROLE_ARN = re.compile(r"\Aarn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}\Z")
_REGIONS = 'regions must be a list of AWS regions, like ["us-east-1"].'


def read_targets(file: Table) -> tuple[TargetSpec, ...]:
    specs: list[TargetSpec] = []
    for entry in file.tables("target"):
        entry.refuse_unknown(TARGET_KEYS)
        regions = entry.strings("regions", lambda r: bool(REGION_PATTERN.match(r)), wrong=_REGIONS)
        if not regions:
            raise entry.error(_REGIONS, "regions")
        role = entry.matching("role_arn", ROLE_ARN, "role_arn must be an IAM role ARN.")
        name = entry.values.get("name", f"target{len(specs) + 1}")
        if not isinstance(name, str) or any(s.name == name for s in specs):
            raise entry.error("each [[target]] needs its own name.", "name")
        external_id = entry.string("external_id")
        session_name = entry.string("session_name")
        if session_name is None:
            session_name = "iamauth"
        specs.append(TargetSpec(name, tuple(regions), role, external_id, session_name))
    return tuple(specs)
